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

/* Which Japanese sets the Specific Character Set declares: bit 1 IR 13 (JIS X 0201: half-width
 * katakana in G1), bit 2 IR 87 (JIS X 0208), bit 4 IR 159 (JIS X 0212); 0 when it declares
 * anything else besides ISO 2022 IR 6 (or an empty first value). */
unsigned japanese_sets(const OFString &cs)
{
    unsigned sets = 0;
    size_t start = 0;
    for (;;) {
        size_t end = cs.find('\\', start);
        OFString term = cs.substr(start, end == OFString_npos ? OFString_npos : end - start);
        while (!term.empty() && term[term.size() - 1] == ' ')
            term.erase(term.size() - 1);
        while (!term.empty() && term[0] == ' ')
            term.erase(0, 1);
        if (term == "ISO 2022 IR 13")
            sets |= 1;
        else if (term == "ISO 2022 IR 87")
            sets |= 2;
        else if (term == "ISO 2022 IR 159")
            sets |= 4;
        else if (!term.empty() && term != "ISO 2022 IR 6")
            return 0;
        if (end == OFString_npos)
            return sets;
        start = end + 1;
    }
}

/* One value in DICOM's Japanese ISO 2022 (PS3.5 6.1.2.5 and Annex H) as EUC-JP, which iconv
 * converts: G0 starts in ASCII (JIS X 0201 Roman, ESC ( J, read as ASCII too) and switches by
 * ESC $ B / ESC $ @ to JIS X 0208, by ESC $ ( D to JIS X 0212 (2-byte characters: EUC-JP sets
 * their high bits, JIS X 0212 after 0x8F); with IR 13 the bytes 0xA1-0xDF are half-width
 * katakana (EUC-JP: 0x8E before each). false on an escape or byte no declared set explains. */
bool value_to_eucjp(const unsigned char *p, size_t n, unsigned sets, std::string &out)
{
    enum { ASCII, JIS0208, JIS0212 } g0 = ASCII;
    out.clear();
    for (size_t i = 0; i < n;) {
        if (p[i] == 0x1b) {
            size_t left = n - i;
            if (left >= 3 && p[i + 1] == '(' && (p[i + 2] == 'B' || p[i + 2] == 'J'))
                g0 = ASCII, i += 3;
            else if (left >= 3 && p[i + 1] == '$' && (p[i + 2] == 'B' || p[i + 2] == '@') && (sets & 2))
                g0 = JIS0208, i += 3;
            else if (left >= 4 && p[i + 1] == '$' && p[i + 2] == '(' && p[i + 3] == 'D' && (sets & 4))
                g0 = JIS0212, i += 4;
            else if (left >= 3 && p[i + 1] == ')' && p[i + 2] == 'I' && (sets & 1))
                i += 3;   /* katakana into G1: the bytes 0xA1-0xDF below */
            else
                return false;
        } else if (p[i] >= 0x80) {
            if (!(sets & 1) || p[i] < 0xa1 || p[i] > 0xdf)
                return false;
            out += '\x8e';
            out += (char)p[i++];
        } else if (g0 == ASCII || p[i] < 0x21 || p[i] == 0x7f) {
            out += (char)p[i++];   /* a control byte (CR, LF, TAB) or a space ends no character */
        } else {
            if (i + 1 >= n || p[i + 1] < 0x21 || p[i + 1] > 0x7e)
                return false;
            if (g0 == JIS0212)
                out += '\x8f';
            out += (char)(p[i] | 0x80);
            out += (char)(p[i + 1] | 0x80);
            i += 2;
        }
    }
    return true;
}

bool value_to_utf8(iconv_t cd, const char *in, size_t n, unsigned sets, std::string &out)
{
    std::string euc;
    if (!value_to_eucjp(reinterpret_cast<const unsigned char *>(in), n, sets, euc))
        return false;
    iconv(cd, NULL, NULL, NULL, NULL);
    std::vector<char> buf(euc.size() * 2 + 16);   /* EUC-JP's 2 or 3 bytes become 3 in UTF-8, 1 stays 1 */
    char *ip = &euc[0], *op = buf.data();
    size_t il = euc.size(), ol = buf.size();
    if (il > 0 && iconv(cd, &ip, &il, &op, &ol) == (size_t)-1)
        return false;
    out.assign(buf.data(), (size_t)(op - buf.data()));
    return true;
}

} // namespace

OFCondition sr_convert_iso2022_jp(DcmItem &item)
{
    OFString cs;
    unsigned sets = item.findAndGetOFStringArray(DCM_SpecificCharacterSet, cs).good() ? japanese_sets(cs) : 0;
    if (!sets)
        return EC_IllegalCall;
    iconv_t cd = iconv_open("UTF-8", "EUC-JP");
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
        ok = value_to_utf8(cd, v, n, sets, u);
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
