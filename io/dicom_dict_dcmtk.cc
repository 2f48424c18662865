/* dicom_dict_dcmtk: DCMTK's data dictionary loaded from a table generated at build time
 * (codegen/dicom_dict_gen.cc: DCMTK's own parse of its default text files, written out), not
 * from the text (see dicom_dictionary_preload in io/dicom.h).
 *
 * DCMTK creates its global dictionary on first use: the skeleton entries, then the files named
 * by DCMDICTPATH or, when that is unset or empty, by DCM_DICT_DEFAULT_PATH (Debian's dicom.dic
 * and private.dic, 8,100 lines parsed with sscanf: ~10 ms, the largest fixed cost of a small
 * ingest after the dynamic loader). Here, when the user has not set DCMDICTPATH and the default
 * files have the size and modification time the build recorded, the dictionary is created
 * with DCMDICTPATH pointing at an empty file (/dev/null) and the table's entries are added
 * with DcmDataDictionary::addEntry, the call DCMTK's own parser makes: the same entries, the
 * repeating ones in the same lookup order (tests/io/test_dicom_dict.c compares both ways).
 * In every other case (DCMDICTPATH set, files changed or missing, a build without the table,
 * a dictionary already loaded) DCMTK reads its text as before. */
#include "dcmtk/config/osconfig.h"

#include "dcmtk/dcmdata/dcdict.h"
#include "dcmtk/dcmdata/dcdicent.h"
#include "dcmtk/dcmdata/dchashdi.h"

#include "io/dicom.h"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sys/stat.h>

namespace {
struct dict_file {
    const char *path;
    long long size, mtime_s;
    long mtime_ns;
};
struct dict_row {
    unsigned short g, e, ug, ue;
    int evr, vm_min, vm_max, group_restriction, element_restriction;
    const char *name, *version, *creator;
};
#include "dicom_dict_table.inc"

/* 1 when the table stands for what DCMTK would read: DCMDICTPATH unset or empty (DCMTK then
 * reads DCM_DICT_DEFAULT_PATH) and every default file as the build saw it. */
bool table_current()
{
    const char *env = getenv("DCMDICTPATH");
    if ((env && *env) || dict_nfiles <= 0 || dict_nnormal + dict_nrepeating == 0)
        return false;
    for (int i = 0; i < dict_nfiles; i++) {
        struct stat st;
        if (stat(dict_files[i].path, &st) != 0 || (long long)st.st_size != dict_files[i].size ||
            (long long)st.st_mtim.tv_sec != dict_files[i].mtime_s || st.st_mtim.tv_nsec != dict_files[i].mtime_ns)
            return false;
    }
    return true;
}

void add_rows(DcmDataDictionary &d, const dict_row *r, int n)
{
    for (int i = 0; i < n; i++, r++) {
        /* the strings are the table's: not copied, and not freed with the entry */
        DcmDictEntry *e = new DcmDictEntry(r->g, r->e, r->ug, r->ue, DcmVR((DcmEVR)r->evr), r->name, r->vm_min,
                                           r->vm_max, r->version, OFFalse, r->creator);
        e->setGroupRangeRestriction((DcmDictRangeRestriction)r->group_restriction);
        e->setElementRangeRestriction((DcmDictRangeRestriction)r->element_restriction);
        d.addEntry(e);
    }
}

std::once_flag preload_once;
int preload_used_table = 0;

void preload()
{
    if (!table_current()) {
        dcmDataDict.rdlock();   /* DCMTK reads its text (or has it already) */
        dcmDataDict.rdunlock();
        return;
    }
    /* DCMTK reads DCMDICTPATH when it creates the dictionary, inside this wrlock: an empty
     * file there, and the variable unset again at once (no child process sees it). The
     * environment is the only way in (DCMTK 3.6.7, dcdict.h / dcdict.cc): the global's
     * dictionary (GlobalDcmDataDictionary::dataDict) is private and made only by the private
     * createDataDict() as new DcmDataDictionary(OFTrue, loadExternal), loadExternal fixed when
     * DCMTK was built (ENABLE_EXTERNAL_DICTIONARY), and loadExternalDictionaries() reads
     * getenv("DCMDICTPATH") else DCM_DICT_DEFAULT_PATH; wrlock() then clear() and refill would
     * come after the text was parsed, the cost this table saves. */
    setenv("DCMDICTPATH", "/dev/null", 1);
    DcmDataDictionary &d = dcmDataDict.wrlock();
    unsetenv("DCMDICTPATH");
    if (d.numberOfEntries() == 0) {   /* created just now, skeleton only: fill it */
        add_rows(d, dict_normal, dict_nnormal);
        add_rows(d, dict_repeating, dict_nrepeating);
        preload_used_table = 1;
    }
    dcmDataDict.wrunlock();
}

/* FNV-1a over bytes */
uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

uint64_t entry_hash(const DcmDictEntry *e)
{
    int v[] = {e->getGroup(), e->getElement(), e->getUpperGroup(), e->getUpperElement(), (int)e->getEVR(),
               e->getVMMin(), e->getVMMax(), (int)e->getGroupRangeRestriction(), (int)e->getElementRangeRestriction()};
    uint64_t h = fnv(1469598103934665603ull, v, sizeof v);
    const char *s[] = {e->getTagName(), e->getStandardVersion(), e->getPrivateCreator()};
    for (const char *x : s)
        h = fnv(h, x ? x : "\1", x ? strlen(x) + 1 : 1);
    return h;
}
} // namespace

extern "C" int dicom_dictionary_preload(void)
{
    try {
        std::call_once(preload_once, preload);
    } catch (...) {
    }
    return preload_used_table;
}

extern "C" uint64_t dicom_dictionary_digest(int *entries)
{
    uint64_t normal = 0, repeating = 1469598103934665603ull;
    try {
        DcmDataDictionary &d = dcmDataDict.wrlock();   /* the iterators are not const */
        for (DcmHashDictIterator i = d.normalBegin(); i != d.normalEnd(); ++i)
            normal += entry_hash(*i);   /* the hash table's order is no property of the dictionary */
        for (DcmDictEntryListIterator i = d.repeatingBegin(); i != d.repeatingEnd(); ++i) {
            uint64_t h = entry_hash(*i);   /* in list order: the order lookups try them */
            repeating = fnv(repeating, &h, sizeof h);
        }
        if (entries)
            *entries = d.numberOfEntries();
        dcmDataDict.wrunlock();
    } catch (...) {
    }
    return normal ^ (repeating * 31);
}
