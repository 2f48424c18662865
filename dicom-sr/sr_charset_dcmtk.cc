/* sr_charset_dcmtk: see sr_charset_dcmtk.h. */
#include "dicom-sr/sr_charset_dcmtk.h"

#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcelem.h"
#include "dcmtk/dcmdata/dcerror.h"
#include "dcmtk/dcmdata/dcstack.h"

#include <iconv.h>
#include <string>
#include <utility>
#include <vector>

namespace {

/* Whether the Specific Character Set's values are only ISO 2022 IR 6 (or empty) and the
 * Japanese ISO 2022 IR 87 / IR 159, with one of the latter: what ISO-2022-JP-2 reads (its
 * escape sequences ESC ( B, ESC ( J, ESC $ B, ESC $ ( D are DICOM's for these sets). IR 13
 * (half-width katakana in G1) is not among them. */
bool japanese_iso2022_only(const OFString &cs)
{
    bool japanese = false;
    size_t start = 0;
    for (;;) {
        size_t end = cs.find('\\', start);
        OFString term = cs.substr(start, end == OFString_npos ? OFString_npos : end - start);
        while (!term.empty() && term[term.size() - 1] == ' ')
            term.erase(term.size() - 1);
        while (!term.empty() && term[0] == ' ')
            term.erase(0, 1);
        if (term == "ISO 2022 IR 87" || term == "ISO 2022 IR 159")
            japanese = true;
        else if (!term.empty() && term != "ISO 2022 IR 6")
            return false;
        if (end == OFString_npos)
            return japanese;
        start = end + 1;
    }
}

/* One value from ISO-2022-JP-2 to UTF-8, the converter starting in ASCII as each DICOM value
 * does. false when a byte sequence is invalid or incomplete. */
bool value_to_utf8(iconv_t cd, const char *in, size_t n, std::string &out)
{
    iconv(cd, NULL, NULL, NULL, NULL);
    std::vector<char> buf(n * 4 + 16);   /* a 2-byte JIS character becomes 3 UTF-8 bytes, an ASCII one 1 */
    char *ip = const_cast<char *>(in), *op = buf.data();
    size_t il = n, ol = buf.size();
    if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 || iconv(cd, NULL, NULL, &op, &ol) == (size_t)-1)
        return false;
    out.assign(buf.data(), (size_t)(op - buf.data()));
    return true;
}

} // namespace

OFCondition sr_convert_iso2022_jp(DcmItem &item)
{
    OFString cs;
    if (item.findAndGetOFStringArray(DCM_SpecificCharacterSet, cs).bad() || !japanese_iso2022_only(cs))
        return EC_IllegalCall;
    iconv_t cd = iconv_open("UTF-8", "ISO-2022-JP-2");
    if (cd == (iconv_t)-1)
        return EC_IllegalCall;
    std::vector<std::pair<DcmElement *, std::string>> converted;   /* put in only once all convert */
    DcmStack stack;
    bool ok = true;
    while (ok && item.nextObject(stack, OFTrue).good()) {
        DcmObject *o = stack.top();
        if (!o->isLeaf())
            continue;
        DcmElement *el = OFstatic_cast(DcmElement *, o);
        char *v = NULL;
        Uint32 n = 0;
        if (!el->isAffectedBySpecificCharacterSet() || el->getString(v, n).bad() || !v || n == 0)
            continue;
        std::string u;
        ok = value_to_utf8(cd, v, n, u);
        if (ok)
            converted.emplace_back(el, std::move(u));
    }
    iconv_close(cd);
    if (!ok)
        return EC_IllegalCall;
    for (auto &c : converted)
        if (c.first->putString(c.second.data(), (Uint32)c.second.size()).bad())
            return EC_IllegalCall;
    return item.putAndInsertString(DCM_SpecificCharacterSet, "ISO_IR 192");
}
