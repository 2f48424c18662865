/* codegen/dicom_dict_gen: writes DCMTK's data dictionary, as DCMTK itself parsed it from its
 * default text files (DCM_DICT_DEFAULT_PATH: Debian's dicom.dic and private.dic), as a C++
 * table that io/dicom_dict_dcmtk.cc adds with DcmDataDictionary::addEntry at run time instead
 * of parsing the text again (docs/performance.md, "fixed costs"). Run at build time (CMake),
 * with DCMDICTPATH unset. The table also records each file's size and modification time: a
 * c2seg that finds them changed parses the text as before.
 * usage: c2seg-dictgen OUT.inc */
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdict.h"
#include "dcmtk/dcmdata/dcdicent.h"
#include "dcmtk/dcmdata/dchashdi.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <sys/stat.h>

/* s as a C string literal (or NULL) */
static std::string literal(const char *s)
{
    if (!s)
        return "NULL";
    std::string out = "\"";
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            out += '\\';
            out += (char)c;
        } else if (c < 0x20 || c >= 0x7f) {
            char b[8];
            snprintf(b, sizeof b, "\\%03o", c);
            out += b;
        } else {
            out += (char)c;
        }
    }
    return out + "\"";
}

static void row(FILE *f, const DcmDictEntry *e)
{
    fprintf(f, "    {0x%04x, 0x%04x, 0x%04x, 0x%04x, %d, %d, %d, %d, %d, %s, %s, %s},\n", e->getGroup(), e->getElement(),
            e->getUpperGroup(), e->getUpperElement(), (int)e->getEVR(), e->getVMMin(), e->getVMMax(),
            (int)e->getGroupRangeRestriction(), (int)e->getElementRangeRestriction(), literal(e->getTagName()).c_str(),
            literal(e->getStandardVersion()).c_str(), literal(e->getPrivateCreator()).c_str());
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUT.inc\n", argv[0]);
        return 2;
    }
    std::string tmp = std::string(argv[1]) + ".tmp";
    FILE *f = fopen(tmp.c_str(), "w");
    if (!f) {
        fprintf(stderr, "c2seg-dictgen: cannot write %s\n", tmp.c_str());
        return 1;
    }
    fprintf(f, "/* Generated at build time by codegen/dicom_dict_gen.cc: do not edit. */\n");
    std::string files;
#ifdef DCM_DICT_DEFAULT_PATH
    files = DCM_DICT_DEFAULT_PATH;
#endif
    fprintf(f, "static const dict_file dict_files[] = {\n");
    int nfiles = 0;
    for (size_t at = 0; !files.empty() && at <= files.size();) {
        size_t end = files.find(ENVIRONMENT_PATH_SEPARATOR, at);
        if (end == std::string::npos)
            end = files.size();
        std::string path = files.substr(at, end - at);
        at = end + 1;
        struct stat st;
        if (path.empty())
            continue;
        if (stat(path.c_str(), &st) != 0) {   /* DCMTK would not load it: no table (parse as DCMTK does) */
            nfiles = -1;
            break;
        }
        fprintf(f, "    {%s, %lld, %lld, %ld},\n", literal(path.c_str()).c_str(), (long long)st.st_size,
                (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
        nfiles++;
    }
    fprintf(f, "    {NULL, 0, 0, 0}};\nstatic const int dict_nfiles = %d;\n", nfiles > 0 ? nfiles : 0);

    DcmDataDictionary &d = dcmDataDict.wrlock();
    int normal = 0, repeating = 0;
    fprintf(f, "static const dict_row dict_normal[] = {\n");
    if (nfiles > 0 && d.isDictionaryLoaded())
        for (DcmHashDictIterator i = d.normalBegin(); i != d.normalEnd(); ++i, normal++)
            row(f, *i);
    fprintf(f, "    {0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL}};\n");
    fprintf(f, "static const dict_row dict_repeating[] = {\n");
    if (nfiles > 0 && d.isDictionaryLoaded())
        for (DcmDictEntryListIterator i = d.repeatingBegin(); i != d.repeatingEnd(); ++i, repeating++)
            row(f, *i);
    fprintf(f, "    {0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL}};\n");
    fprintf(f, "static const int dict_nnormal = %d, dict_nrepeating = %d;\n", normal, repeating);
    dcmDataDict.wrunlock();
    if (fclose(f) != 0 || rename(tmp.c_str(), argv[1]) != 0) {
        fprintf(stderr, "c2seg-dictgen: cannot write %s\n", argv[1]);
        return 1;
    }
    return 0;
}
