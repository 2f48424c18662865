/* prose_lexicon: the word lists of the report-prose parser and the typo matcher.
 * One table of word groups: a row gives its class, value and sub-value to the space-separated
 * lower-case words of its string, in order; a word written with a trailing '+' is a plural
 * (sub-value 1: "bases+", "opacities+"), and the number words take their position as value.
 * Exact words first; a word outside the lexicon (and outside the never-typo list of real
 * English words) is read as the lexicon word with the same first letter that is one edit away
 * (5-7 letters) or two edits away (8+ letters), optimal string alignment distance; of equally
 * near words the first in the table wins. */
#include "dicom-sr/prose_lexicon.h"
#include "dicom-sr/prose_parse.h"

#include <pthread.h>
#include <string.h>

typedef struct lex_group {
    lex_class cls;
    int val, sub;
    const char *words; /* space-separated */
} lex_group;

static const lex_group LEX[] = {
    /* sides */
    {LX_SIDE, 1, 0, "left lt sinistral"},
    {LX_SIDE, 2, 0, "right rt"},
    {LX_SIDE, 3, 0, "bilateral bilaterally both bilat"},
    /* levels */
    {LX_LEVEL, 1, 0, "upper apex apices+ apical apically"},
    {LX_LEVEL, 2, 0, "middle mid hilar perihilar parahilar midzone midzones+ midlung hilum hila+"},
    {LX_LEVEL, 4, 0, "lower base bases+ basal basilar basally costophrenic infrahilar"},
    /* side and level in one word: zone masks [LU LM LL RU RM RL] as bits 1 2 4 8 16 32 */
    {LX_ZONEWORD, 8, 0, "rul"},
    {LX_ZONEWORD, 16, 0, "rml"},
    {LX_ZONEWORD, 32, 0, "rll"},
    {LX_ZONEWORD, 1, 0, "lul"},
    {LX_ZONEWORD, 4, 0, "lll retrocardiac"},
    {LX_ZONEWORD, 2, 0, "lingula lingular"},
    {LX_ZONEWORD, 36, 0, "bibasal bibasilar bibasally"},
    {LX_ZONEWORD, 9, 0, "biapical"},
    {LX_ZONEWORD, 18, 0, "bihilar"},
    /* regions */
    {LX_REGION, 1, 0, "lung lungs+ parenchyma"},
    {LX_REGION, 2, 0, "lobe lobes+ lobar"},
    {LX_REGION, 3, 0, "zone zones+ field fields+"},
    {LX_REGION, 4, 0, "hemithorax hemithoraces+ side sides+ sided"},
    {LX_REGION, 5, 0, "pulmonary"},
    {LX_ALL, 0, 0, "all entire whole"},
    /* segments */
    {LX_SEGMENT, 0, 0, "segment segments+ segmental"},
    {LX_SEGNAME, 1, 0, "anterior posterior apicoposterior"},
    {LX_SEGNAME, 2, 0, "lateral medial inferior"},
    {LX_SEGNAME, 4, 0, "superior posterobasal anterobasal laterobasal mediobasal"},
    /* lung lesions */
    {LX_LESION, PF_GGO, 0, "ggo ggos+ ggo's+ groundglass"},
    {LX_LESION, PF_CONSOLIDATION, 0, "consolidation consolidations+ consolidative consolidated consol"},
    {LX_LESION, PF_INFILTRATE, 0, "infiltrate infiltrates+ infiltration infiltrations+ infiltrative"},
    {LX_LESION, PF_OPACITY, 0, "opac opacity opacities+ opacification opacifications+ opacified shadowing shadowings+ "
                               "shadow shadows+ haziness hazy density densities+ airspace"},
    {LX_LESION, PF_NODULE, 0, "nodule nodules+ nodular micronodules+ nodularity mass masses+"},
    {LX_LESION, PF_OTHER, 0, "pneumonia pneumonias+ pneumonitis bronchopneumonia infection infective inflammatory "
                             "covid lesion lesions+ reticulation reticular aspiration abscess abscesses+ haemorrhage hemorrhage halo "
                             "cavity cavities+ cavitation cavitary cavitating"},
    {LX_LESION, PF_CRAZY_PAVING, 0, "paving"},
    /* generic lesion words */
    {LX_GENERIC, PF_OTHER, 0, "abnormality abnormalities+ disease process involvement involved affected"},
    /* not lung lesions */
    {LX_NONLESION, PN_OTHER, 0, "hemidiaphragm mediastinal mediastinum emphysema fibrosis fibrotic scarring scar "
                                "granuloma granulomas+ lymphadenopathy nodes+ node fracture fractures+ osseous bony "
                                "thickening calcification calcified hernia edema oedema congestion aorta "
                                "bronchiectasis cyst"},
    {LX_NONLESION, PN_EFFUSION, 0, "effusion effusions+ pleural blunting"},
    {LX_NONLESION, PN_CARDIOMEGALY, 0, "cardiomegaly heart cardiac cardiomediastinal"},
    {LX_NONLESION, PN_PNEUMOTHORAX, 0, "pneumothorax pneumothoraces+"},
    {LX_NONLESION, PN_ATELECTASIS, 0, "atelectasis atelectatic collapse"},
    {LX_NONLESION, PN_DEVICE, 0, "tube tubes+ ett endotracheal nasogastric ng catheter line lines+ picc cvc pacemaker "
                                 "pacer icd aicd leads+ wires+ sternotomy clips+ drain port stent tracheostomy valve"},
    /* containers */
    {LX_CONTAINER, 0, 0, "area areas+ focus foci+ patch patches+ region regions+"},
    /* counts */
    {LX_NUMBER, 0, 0, "one two three four five six seven eight nine ten eleven twelve"},
    {LX_NUMBER, 15, 0, "fifteen"},
    {LX_NUMBER, 20, 0, "twenty"},
    {LX_NUMBER, 30, 0, "thirty"},
    {LX_NUMBER, 40, 0, "forty"},
    {LX_NUMBER, 50, 0, "fifty"},
    {LX_NUMBER, 60, 0, "sixty"},
    {LX_NUMBER, 70, 0, "seventy"},
    {LX_NUMBER, 80, 0, "eighty"},
    {LX_NUMBER, 90, 0, "ninety"},
    {LX_ARTICLE, 1, 0, "a an single solitary isolated"},
    {LX_QUANT, 2, PROSE_COUNT_OPEN, "multiple numerous innumerable"},
    {LX_QUANT, 3, PROSE_COUNT_OPEN, "several"},
    {LX_QUANT, 2, 4, "few"},
    {LX_QUANT, 2, 2, "couple"},
    /* negation */
    {LX_NEG_PRE, 0, 0, "no not without nor neither absence negative free nothing nil neg"},
    {LX_NEG_POST, 0, 0, "absent unlikely excluded"},
    {LX_CLEAR, 0, 0, "clear normal unremarkable aerated expanded"},
    /* uncertainty */
    {LX_UNCERTAIN, 0, 0, "possible possibly probable probably likely may might could suspicious suspected suspect "
                         "questionable equivocal indeterminate concerning suggestive suggest suggests suggesting "
                         "query presumed differential versus vs uncertain perhaps doubtful possibility favoured favored "
                         "favour favor favours favors presumably presumptive worrying worrisome "
                         "?"},
    /* time */
    {LX_TEMPORAL, PT_RESOLVED, 0, "resolution resolved cleared disappeared clearance resolve"},
    {LX_TEMPORAL, PT_NEW, 0, "new newly developing development emerging developed"},
    {LX_TEMPORAL, PT_WORSE, 0, "increasing increased increase worsening worsened progression progressive progressing "
                               "progressed enlarging enlarged extending extended extension spread grown growing "
                               "deterioration deteriorating"},
    {LX_TEMPORAL, PT_STABLE, 0, "unchanged stable persistent persisting persists persist redemonstrated redemonstration again remains "
                                "residual"},
    {LX_TEMPORAL, PT_BETTER, 0, "improving improved improvement decreasing decreased decrease reduced reduction "
                                "regressing regression regressed resolving clearing smaller"},
    {LX_TEMPORAL, PT_BETTER, 2, "partial partially"},
    {LX_TEMPORAL, PT_RESOLVED, 1, "previously prior previous"},
    /* severity */
    {LX_SEVERITY, 1, 0, "mild mildly minimal minor slight"},
    {LX_SEVERITY, 2, 0, "moderate moderately"},
    {LX_SEVERITY, 3, 0, "severe severely extensive marked markedly widespread"},
    /* distribution */
    {LX_DIST, PD_PERIPHERAL, 0, "peripheral peripherally periphery"},
    {LX_DIST, PD_SUBPLEURAL, 0, "subpleural"},
    {LX_DIST, PD_CENTRAL, 0, "central centrally"},
    {LX_DIST, PD_DIFFUSE, 0, "diffuse diffusely"},
    {LX_DIST, PD_PERIBRONCHOVASCULAR, 0, "peribronchovascular peribronchial"},
    /* predominance */
    {LX_PREDOM, 0, 0, "predominant predominantly predominance predominating predominately mainly mostly chiefly "
                      "favouring favoring preponderance particularly especially notably"},
    {LX_MORE, 0, 0, "more most greater worse larger greatest worst densest"},
    {LX_MORE, 1, 0, "pronounced prominent"},
    /* clause boundaries */
    {LX_BOUNDARY, 0, 0, "but however although though whereas while whilst except apart aside which impression "
                        "findings conclusion save besides"},
    /* glue */
    {LX_PREP, 0, 0, "involving affecting in within of at on throughout along over across into from for"},
    {LX_AND, 0, 0, "and or plus &"},
    {LX_THE, 0, 0, "the"},
    {LX_PCT, 0, 0, "percent %"},
    {LX_CT, 0, 0, "ct"},
    {LX_LESS, 0, 0, "less under below < up"},
    {LX_MORE, 2, 0, "> above"},
    {LX_TO, 1, 0, "than"},
    {LX_UNIT, 0, 0, "mm cm millimetre millimeter centimetre centimeter x"},
    {LX_COPULA, 0, 0, "is are was were seen noted present demonstrated identified visible evident shows show has have "
                      "be been visualised visualized appreciated detected"},
    {LX_THERE, 0, 0, "there"},
    {LX_MOD, 0, 0, "patchy focal multifocal dense small large tiny faint scattered subtle confluent rounded round ill "
                   "defined wedge shaped linear streaky bandlike discrete spiculated solid irregular mixed "
                   "ill-defined"},
    {LX_TO, 0, 0, "to through"},
};
#define NLEX ((int)(sizeof LEX / sizeof LEX[0]))

/* Real words one or two edits from a lexicon word: never corrected. */
static const char NOT_TYPOS[] =
    "bare bake bale bane bade babe bass bask bast apes aped "
    "lover lowers liver layer later latter letter lobed loses lower lines lying rights righted basis basin based "
    "baseline bases biases noted notes nodes modest model media medical medially meter minor mirror minimum "
    "interval internal interstitial intervals interface central certain cleared clean close closed clearly circular "
    "cardiac catheter changes change changed chest effusion effort effect effects patient patients pattern patterns "
    "partly previous prevent present presented process protocol probably profile prone surgical surgery series "
    "severity several segments sequence sections section studies study stable standard status supine support supra "
    "slight slightly single since shows shown small smaller dense densely degree deep discussed diaphragm "
    "diaphragms distal distant images imaging image inspiration infrahilar inferior anterior posterior exterior "
    "interior appearance appearances appears appear apparent against again along airway airways where there these "
    "those other others whether together elsewhere volume volumes views view trachea tracheal thoracic thorax "
    "technique comparison compared contrast consistent consider considered concern control correlation correlate "
    "clinical clinically contour contours normally opacify findings finding feature features further follow "
    "followup heart hearts lesser lesson lessons legion margin margins marking markings mildly mostly "
    "motion multiple muscle muscles overall overlying pleura pleurae region regional remain remained right routine "
    "rotated rotation tissue tissues typical upright vessels vessel vascular within without within partial "
    "particular visible vision single signal signs singular anterolateral posterolateral lateral bilateral "
    "collateral unilateral unilaterally opposite obscured obscuring limited limits likely lucency lucent "
    "parenchymal";

int lexicon_osa_distance(const char *a, const char *b)
{
    enum { CAP = 40 };
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la - lb > 2 || lb - la > 2 || la >= CAP || lb >= CAP)
        return 3;
    int d[CAP + 1][CAP + 1];
    for (int i = 0; i <= la; i++)
        d[i][0] = i;
    for (int j = 0; j <= lb; j++)
        d[0][j] = j;
    for (int i = 1; i <= la; i++) {
        int rowmin = 99;
        for (int j = 1; j <= lb; j++) {
            int c = a[i - 1] != b[j - 1];
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + c < v)
                v = d[i - 1][j - 1] + c;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
            if (v < rowmin)
                rowmin = v;
        }
        if (rowmin > 2)
            return 3;
    }
    return d[la][lb];
}

/* Equal once runs of a repeated letter are squeezed to one ("uper" ~ "upper"). */
static int squeezed_equal(const char *a, const char *b)
{
    size_t i = 0, j = 0;
    while (a[i] && b[j]) {
        if (a[i] != b[j])
            return 0;
        char c = a[i];
        while (a[i] == c)
            i++;
        while (b[j] == c)
            j++;
    }
    return !a[i] && !b[j];
}

/* The table expanded once into one entry a word (NUL-terminated copies in a pool), the
 * never-typo words after them: a lookup compares lengths and first letters before bytes. */
typedef struct lex_entry {
    const char *word;
    unsigned char len, plural;
    short group, pos; /* row of LEX; 1-based position in the row */
} lex_entry;

enum { POOL_CAP = 16384, ENTRY_CAP = 2048 }; /* about 6,000 bytes and 710 words now */
static char pool[POOL_CAP];
static lex_entry entries[ENTRY_CAP];
static int n_lex, n_entries;   /* lexicon words [0, n_lex), never-typos [n_lex, n_entries) */
static pthread_once_t expand_once = PTHREAD_ONCE_INIT;
/* The entries by first letter (table order kept inside a letter, so "first in the table wins"
 * still holds): part 0 the lexicon words, part 1 the never-typos; bucket b of part p is
 * by_letter[off[p][b] .. off[p][b + 1]). */
enum { BUCKETS = 27 };
static short by_letter[ENTRY_CAP];
static int off[2][BUCKETS + 1];

static int bucket(char c) { return c >= 'a' && c <= 'z' ? c - 'a' : BUCKETS - 1; }

static void expand_words(const char *words, int group, size_t *used)
{
    short pos = 0;
    for (const char *p = words; *p;) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if (n && n < 40 && *used + n + 1 <= POOL_CAP && n_entries < ENTRY_CAP) {
            int plural = p[n - 1] == '+';
            lex_entry *e = &entries[n_entries++];
            memcpy(pool + *used, p, n - (size_t)plural);
            pool[*used + n - (size_t)plural] = 0;
            e->word = pool + *used;
            e->len = (unsigned char)(n - (size_t)plural);
            e->plural = (unsigned char)plural;
            e->group = (short)group;
            e->pos = ++pos;
            *used += n + 1;
        }
        p += n;
    }
}

static void expand(void)
{
    size_t used = 0;
    for (int k = 0; k < NLEX; k++)
        expand_words(LEX[k].words, k, &used);
    n_lex = n_entries;
    expand_words(NOT_TYPOS, -1, &used);
    int fill = 0;
    for (int part = 0; part < 2; part++) {
        int from = part ? n_lex : 0, to = part ? n_entries : n_lex;
        for (int b = 0; b < BUCKETS; b++) {
            off[part][b] = fill;
            for (int k = from; k < to; k++)
                if (bucket(entries[k].word[0]) == b)
                    by_letter[fill++] = (short)k;
        }
        off[part][BUCKETS] = fill;
    }
}

/* The lexicon entry of w within edit distance `allowed` rules, -1 (see the file comment). */
static int nearest(const char *w, size_t lw)
{
    int best = -1, best_d = 3, b = bucket(w[0]);
    for (int x = off[0][b]; x < off[0][b + 1]; x++) {
        int k = by_letter[x];
        const lex_entry *e = &entries[k];
        const lex_group *g = &LEX[e->group];
        size_t lv = e->len;
        /* one letter changed or swapped in a four-letter level word ("bace" for base) */
        int level4 = lw == 4 && lv == 4 && g->cls == LX_LEVEL;
        if ((lv < 5 && !level4) || e->word[0] != w[0] || lv > lw + 2 || lw > lv + 2)
            continue;
        int allowed = lw >= 8 && lv >= 8 ? 2 : lw >= 5 ? 1 : 0;
        /* words that flip a finding's polarity or time: one edit at most */
        if (allowed > 1 && (g->cls == LX_CLEAR || g->cls == LX_NEG_PRE || g->cls == LX_NEG_POST ||
                            g->cls == LX_TEMPORAL || g->cls == LX_UNCERTAIN))
            allowed = 1;
        /* four letters: one edit from a five-letter side or level word ("uppr", "rigt", "lowr") */
        if ((lw == 4 && lv == 5 && (g->cls == LX_SIDE || g->cls == LX_LEVEL)) || level4)
            allowed = 1;
        int d = allowed ? lexicon_osa_distance(w, e->word) : 3;
        if (d > allowed && lw == 4 && squeezed_equal(w, e->word))
            d = 1;   /* "uper" = "upper": a doubled letter typed once */
        else if (d > allowed)
            d = 3;
        if (d <= 2 && d < best_d) {
            best = k;
            best_d = d;
        }
    }
    return best;
}

static int exact(const char *w, size_t lw, int part)
{
    int b = bucket(w[0]);
    for (int x = off[part][b]; x < off[part][b + 1]; x++) {
        int k = by_letter[x];
        if (entries[k].len == lw && entries[k].word[0] == w[0] && memcmp(entries[k].word, w, lw) == 0)
            return k;
    }
    return -1;
}

int prose_lexicon_lookup(const char *w, lex_word *out, int *typo)
{
    pthread_once(&expand_once, expand);
    size_t lw = strlen(w);
    *typo = 0;
    if (lw == 0 || lw >= 40)
        return 0;
    int k = exact(w, lw, 0);
    if (k < 0 && lw >= 4 && !(w[0] >= '0' && w[0] <= '9') && exact(w, lw, 1) < 0) {
        k = nearest(w, lw);
        *typo = k >= 0;
    }
    if (k < 0)
        return 0;
    const lex_entry *e = &entries[k];
    const lex_group *g = &LEX[e->group];
    out->cls = g->cls;
    out->val = g->cls == LX_NUMBER && g->val == 0 ? e->pos : g->val;
    out->sub = e->plural ? 1 : g->sub;
    return 1;
}
