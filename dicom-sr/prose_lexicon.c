/* prose_lexicon: the word lists of the report-prose parser and the typo matcher.
 * Exact lower-case words first; a word outside the lexicon (and outside the never-typo list
 * of real English words) is read as the lexicon word with the same first letter that is one
 * edit away (5-7 letters) or two edits away (8+ letters), optimal string alignment distance. */
#include "dicom-sr/prose_lexicon.h"
#include "dicom-sr/prose_parse.h"

#include <string.h>

static const lex_word LEX[] = {
    /* sides */
    {"left", LX_SIDE, 1, 0}, {"right", LX_SIDE, 2, 0}, {"lt", LX_SIDE, 1, 0}, {"rt", LX_SIDE, 2, 0},
    {"bilateral", LX_SIDE, 3, 0}, {"bilaterally", LX_SIDE, 3, 0}, {"both", LX_SIDE, 3, 0},
    {"bilat", LX_SIDE, 3, 0}, {"sinistral", LX_SIDE, 1, 0},
    /* levels */
    {"upper", LX_LEVEL, 1, 0}, {"middle", LX_LEVEL, 2, 0}, {"mid", LX_LEVEL, 2, 0}, {"lower", LX_LEVEL, 4, 0},
    {"apex", LX_LEVEL, 1, 0}, {"apices", LX_LEVEL, 1, 1}, {"apical", LX_LEVEL, 1, 0}, {"apically", LX_LEVEL, 1, 0},
    {"base", LX_LEVEL, 4, 0}, {"bases", LX_LEVEL, 4, 1}, {"basal", LX_LEVEL, 4, 0}, {"basilar", LX_LEVEL, 4, 0},
    {"basally", LX_LEVEL, 4, 0}, {"costophrenic", LX_LEVEL, 4, 0}, {"hilar", LX_LEVEL, 2, 0},
    {"perihilar", LX_LEVEL, 2, 0}, {"parahilar", LX_LEVEL, 2, 0}, {"midzone", LX_LEVEL, 2, 0},
    {"midzones", LX_LEVEL, 2, 1}, {"midlung", LX_LEVEL, 2, 0}, {"infrahilar", LX_LEVEL, 4, 0},
    /* side and level in one word: zone masks [LU LM LL RU RM RL] as bits 1 2 4 8 16 32 */
    {"rul", LX_ZONEWORD, 8, 0}, {"rml", LX_ZONEWORD, 16, 0}, {"rll", LX_ZONEWORD, 32, 0},
    {"lul", LX_ZONEWORD, 1, 0}, {"lll", LX_ZONEWORD, 4, 0}, {"lingula", LX_ZONEWORD, 2, 0},
    {"lingular", LX_ZONEWORD, 2, 0}, {"retrocardiac", LX_ZONEWORD, 4, 0}, {"bibasal", LX_ZONEWORD, 36, 0},
    {"bibasilar", LX_ZONEWORD, 36, 0}, {"bibasally", LX_ZONEWORD, 36, 0}, {"biapical", LX_ZONEWORD, 9, 0},
    {"bihilar", LX_ZONEWORD, 18, 0},
    /* regions */
    {"lung", LX_REGION, 1, 0}, {"lungs", LX_REGION, 1, 1}, {"lobe", LX_REGION, 2, 0}, {"lobes", LX_REGION, 2, 1},
    {"lobar", LX_REGION, 2, 0}, {"zone", LX_REGION, 3, 0}, {"zones", LX_REGION, 3, 1}, {"field", LX_REGION, 3, 0},
    {"fields", LX_REGION, 3, 1}, {"hemithorax", LX_REGION, 4, 0}, {"hemithoraces", LX_REGION, 4, 1},
    {"side", LX_REGION, 4, 0}, {"sides", LX_REGION, 4, 1}, {"sided", LX_REGION, 4, 0}, {"parenchyma", LX_REGION, 1, 0},
    {"pulmonary", LX_REGION, 5, 0}, {"hemidiaphragm", LX_NONLESION, PN_OTHER, 0},
    {"all", LX_ALL, 0, 0}, {"entire", LX_ALL, 0, 0}, {"whole", LX_ALL, 0, 0}, {"five", LX_NUMBER, 5, 0},
    /* segments */
    {"segment", LX_SEGMENT, 0, 0}, {"segments", LX_SEGMENT, 0, 1}, {"segmental", LX_SEGMENT, 0, 0},
    {"anterior", LX_SEGNAME, 1, 0}, {"posterior", LX_SEGNAME, 1, 0}, {"apicoposterior", LX_SEGNAME, 1, 0},
    {"lateral", LX_SEGNAME, 2, 0}, {"medial", LX_SEGNAME, 2, 0}, {"superior", LX_SEGNAME, 4, 0},
    {"inferior", LX_SEGNAME, 2, 0}, {"posterobasal", LX_SEGNAME, 4, 0}, {"anterobasal", LX_SEGNAME, 4, 0},
    {"laterobasal", LX_SEGNAME, 4, 0}, {"mediobasal", LX_SEGNAME, 4, 0},
    /* lung lesions */
    {"ggo", LX_LESION, PF_GGO, 0}, {"ggos", LX_LESION, PF_GGO, 1}, {"ggo's", LX_LESION, PF_GGO, 1},
    {"groundglass", LX_LESION, PF_GGO, 0},
    {"consolidation", LX_LESION, PF_CONSOLIDATION, 0}, {"consolidations", LX_LESION, PF_CONSOLIDATION, 1},
    {"consolidative", LX_LESION, PF_CONSOLIDATION, 0}, {"consolidated", LX_LESION, PF_CONSOLIDATION, 0},
    {"infiltrate", LX_LESION, PF_INFILTRATE, 0}, {"infiltrates", LX_LESION, PF_INFILTRATE, 1},
    {"infiltration", LX_LESION, PF_INFILTRATE, 0}, {"infiltrations", LX_LESION, PF_INFILTRATE, 1},
    {"infiltrative", LX_LESION, PF_INFILTRATE, 0},
    {"opacity", LX_LESION, PF_OPACITY, 0}, {"opacities", LX_LESION, PF_OPACITY, 1},
    {"opacification", LX_LESION, PF_OPACITY, 0}, {"opacifications", LX_LESION, PF_OPACITY, 1},
    {"opacified", LX_LESION, PF_OPACITY, 0}, {"shadowing", LX_LESION, PF_OPACITY, 0},
    {"shadowings", LX_LESION, PF_OPACITY, 1}, {"shadow", LX_LESION, PF_OPACITY, 0},
    {"shadows", LX_LESION, PF_OPACITY, 1}, {"haziness", LX_LESION, PF_OPACITY, 0}, {"hazy", LX_LESION, PF_OPACITY, 0},
    {"density", LX_LESION, PF_OPACITY, 0}, {"densities", LX_LESION, PF_OPACITY, 1},
    {"airspace", LX_LESION, PF_OPACITY, 0},
    {"nodule", LX_LESION, PF_NODULE, 0}, {"nodules", LX_LESION, PF_NODULE, 1}, {"nodular", LX_LESION, PF_NODULE, 0},
    {"micronodules", LX_LESION, PF_NODULE, 1}, {"nodularity", LX_LESION, PF_NODULE, 0}, {"mass", LX_LESION, PF_NODULE, 0}, {"masses", LX_LESION, PF_NODULE, 1},
    {"pneumonia", LX_LESION, PF_OTHER, 0}, {"pneumonias", LX_LESION, PF_OTHER, 1},
    {"pneumonitis", LX_LESION, PF_OTHER, 0}, {"bronchopneumonia", LX_LESION, PF_OTHER, 0},
    {"infection", LX_LESION, PF_OTHER, 0}, {"infective", LX_LESION, PF_OTHER, 0},
    {"inflammatory", LX_LESION, PF_OTHER, 0}, {"covid", LX_LESION, PF_OTHER, 0},
    {"lesion", LX_LESION, PF_OTHER, 0}, {"lesions", LX_LESION, PF_OTHER, 1},
    {"reticulation", LX_LESION, PF_OTHER, 0}, {"reticular", LX_LESION, PF_OTHER, 0},
    {"paving", LX_LESION, PF_CRAZY_PAVING, 0},
    /* generic lesion words */
    {"abnormality", LX_GENERIC, PF_OTHER, 0}, {"abnormalities", LX_GENERIC, PF_OTHER, 1},
    {"disease", LX_GENERIC, PF_OTHER, 0}, {"process", LX_GENERIC, PF_OTHER, 0},
    {"involvement", LX_GENERIC, PF_OTHER, 0}, {"involved", LX_GENERIC, PF_OTHER, 0},
    {"involving", LX_PREP, 0, 0}, {"affected", LX_GENERIC, PF_OTHER, 0}, {"affecting", LX_PREP, 0, 0},
    /* not lung lesions */
    {"effusion", LX_NONLESION, PN_EFFUSION, 0}, {"effusions", LX_NONLESION, PN_EFFUSION, 1},
    {"pleural", LX_NONLESION, PN_EFFUSION, 0}, {"blunting", LX_NONLESION, PN_EFFUSION, 0},
    {"cardiomegaly", LX_NONLESION, PN_CARDIOMEGALY, 0}, {"heart", LX_NONLESION, PN_CARDIOMEGALY, 0},
    {"cardiac", LX_NONLESION, PN_CARDIOMEGALY, 0}, {"cardiomediastinal", LX_NONLESION, PN_CARDIOMEGALY, 0},
    {"mediastinal", LX_NONLESION, PN_OTHER, 0}, {"mediastinum", LX_NONLESION, PN_OTHER, 0},
    {"pneumothorax", LX_NONLESION, PN_PNEUMOTHORAX, 0}, {"pneumothoraces", LX_NONLESION, PN_PNEUMOTHORAX, 1},
    {"atelectasis", LX_NONLESION, PN_ATELECTASIS, 0}, {"atelectatic", LX_NONLESION, PN_ATELECTASIS, 0},
    {"collapse", LX_NONLESION, PN_ATELECTASIS, 0}, {"emphysema", LX_NONLESION, PN_OTHER, 0},
    {"fibrosis", LX_NONLESION, PN_OTHER, 0}, {"fibrotic", LX_NONLESION, PN_OTHER, 0},
    {"scarring", LX_NONLESION, PN_OTHER, 0}, {"scar", LX_NONLESION, PN_OTHER, 0},
    {"granuloma", LX_NONLESION, PN_OTHER, 0}, {"granulomas", LX_NONLESION, PN_OTHER, 1},
    {"lymphadenopathy", LX_NONLESION, PN_OTHER, 0}, {"nodes", LX_NONLESION, PN_OTHER, 1},
    {"node", LX_NONLESION, PN_OTHER, 0}, {"fracture", LX_NONLESION, PN_OTHER, 0},
    {"fractures", LX_NONLESION, PN_OTHER, 1}, {"osseous", LX_NONLESION, PN_OTHER, 0},
    {"bony", LX_NONLESION, PN_OTHER, 0}, {"thickening", LX_NONLESION, PN_OTHER, 0},
    {"calcification", LX_NONLESION, PN_OTHER, 0}, {"calcified", LX_NONLESION, PN_OTHER, 0},
    {"hernia", LX_NONLESION, PN_OTHER, 0}, {"edema", LX_NONLESION, PN_OTHER, 0}, {"oedema", LX_NONLESION, PN_OTHER, 0},
    {"congestion", LX_NONLESION, PN_OTHER, 0}, {"aorta", LX_NONLESION, PN_OTHER, 0},
    {"bronchiectasis", LX_NONLESION, PN_OTHER, 0}, {"cyst", LX_NONLESION, PN_OTHER, 0},
    {"tube", LX_NONLESION, PN_DEVICE, 0}, {"tubes", LX_NONLESION, PN_DEVICE, 1}, {"ett", LX_NONLESION, PN_DEVICE, 0},
    {"endotracheal", LX_NONLESION, PN_DEVICE, 0}, {"nasogastric", LX_NONLESION, PN_DEVICE, 0},
    {"ng", LX_NONLESION, PN_DEVICE, 0}, {"catheter", LX_NONLESION, PN_DEVICE, 0},
    {"line", LX_NONLESION, PN_DEVICE, 0}, {"lines", LX_NONLESION, PN_DEVICE, 1}, {"picc", LX_NONLESION, PN_DEVICE, 0},
    {"cvc", LX_NONLESION, PN_DEVICE, 0}, {"pacemaker", LX_NONLESION, PN_DEVICE, 0},
    {"pacer", LX_NONLESION, PN_DEVICE, 0}, {"icd", LX_NONLESION, PN_DEVICE, 0}, {"aicd", LX_NONLESION, PN_DEVICE, 0},
    {"leads", LX_NONLESION, PN_DEVICE, 1}, {"wires", LX_NONLESION, PN_DEVICE, 1},
    {"sternotomy", LX_NONLESION, PN_DEVICE, 0}, {"clips", LX_NONLESION, PN_DEVICE, 1},
    {"drain", LX_NONLESION, PN_DEVICE, 0}, {"port", LX_NONLESION, PN_DEVICE, 0}, {"stent", LX_NONLESION, PN_DEVICE, 0},
    {"tracheostomy", LX_NONLESION, PN_DEVICE, 0}, {"valve", LX_NONLESION, PN_DEVICE, 0},
    /* containers */
    {"area", LX_CONTAINER, 0, 0}, {"areas", LX_CONTAINER, 0, 1}, {"focus", LX_CONTAINER, 0, 0},
    {"foci", LX_CONTAINER, 0, 1}, {"patch", LX_CONTAINER, 0, 0}, {"patches", LX_CONTAINER, 0, 1},
    {"region", LX_CONTAINER, 0, 0}, {"regions", LX_CONTAINER, 0, 1},
    /* counts */
    {"one", LX_NUMBER, 1, 0}, {"two", LX_NUMBER, 2, 0}, {"three", LX_NUMBER, 3, 0}, {"four", LX_NUMBER, 4, 0},
    {"six", LX_NUMBER, 6, 0}, {"seven", LX_NUMBER, 7, 0}, {"eight", LX_NUMBER, 8, 0}, {"nine", LX_NUMBER, 9, 0},
    {"ten", LX_NUMBER, 10, 0}, {"eleven", LX_NUMBER, 11, 0}, {"twelve", LX_NUMBER, 12, 0},
    {"a", LX_ARTICLE, 1, 0}, {"an", LX_ARTICLE, 1, 0}, {"single", LX_ARTICLE, 1, 0}, {"solitary", LX_ARTICLE, 1, 0},
    {"isolated", LX_ARTICLE, 1, 0},
    {"multiple", LX_QUANT, 2, PROSE_COUNT_OPEN}, {"numerous", LX_QUANT, 2, PROSE_COUNT_OPEN},
    {"several", LX_QUANT, 3, PROSE_COUNT_OPEN}, {"few", LX_QUANT, 2, 4}, {"couple", LX_QUANT, 2, 2},
    {"innumerable", LX_QUANT, 2, PROSE_COUNT_OPEN},
    /* negation */
    {"no", LX_NEG_PRE, 0, 0}, {"not", LX_NEG_PRE, 0, 0}, {"without", LX_NEG_PRE, 0, 0}, {"nor", LX_NEG_PRE, 0, 0},
    {"neither", LX_NEG_PRE, 0, 0}, {"absence", LX_NEG_PRE, 0, 0}, {"negative", LX_NEG_PRE, 0, 0},
    {"free", LX_NEG_PRE, 0, 0}, {"nothing", LX_NEG_PRE, 0, 0}, {"nil", LX_NEG_PRE, 0, 0}, {"resolution", LX_TEMPORAL, PT_RESOLVED, 0},
    {"absent", LX_NEG_POST, 0, 0}, {"unlikely", LX_NEG_POST, 0, 0}, {"excluded", LX_NEG_POST, 0, 0},
    {"clear", LX_CLEAR, 0, 0}, {"normal", LX_CLEAR, 0, 0}, {"unremarkable", LX_CLEAR, 0, 0},
    {"aerated", LX_CLEAR, 0, 0}, {"expanded", LX_CLEAR, 0, 0},
    /* uncertainty */
    {"possible", LX_UNCERTAIN, 0, 0}, {"possibly", LX_UNCERTAIN, 0, 0}, {"probable", LX_UNCERTAIN, 0, 0},
    {"probably", LX_UNCERTAIN, 0, 0}, {"likely", LX_UNCERTAIN, 0, 0}, {"may", LX_UNCERTAIN, 0, 0},
    {"might", LX_UNCERTAIN, 0, 0}, {"could", LX_UNCERTAIN, 0, 0}, {"suspicious", LX_UNCERTAIN, 0, 0},
    {"suspected", LX_UNCERTAIN, 0, 0}, {"suspect", LX_UNCERTAIN, 0, 0}, {"questionable", LX_UNCERTAIN, 0, 0},
    {"equivocal", LX_UNCERTAIN, 0, 0}, {"indeterminate", LX_UNCERTAIN, 0, 0}, {"concerning", LX_UNCERTAIN, 0, 0},
    {"suggestive", LX_UNCERTAIN, 0, 0}, {"suggest", LX_UNCERTAIN, 0, 0}, {"suggests", LX_UNCERTAIN, 0, 0},
    {"suggesting", LX_UNCERTAIN, 0, 0}, {"query", LX_UNCERTAIN, 0, 0}, {"presumed", LX_UNCERTAIN, 0, 0},
    {"differential", LX_UNCERTAIN, 0, 0}, {"versus", LX_UNCERTAIN, 0, 0}, {"vs", LX_UNCERTAIN, 0, 0},
    {"uncertain", LX_UNCERTAIN, 0, 0}, {"perhaps", LX_UNCERTAIN, 0, 0}, {"doubtful", LX_UNCERTAIN, 0, 0}, {"possibility", LX_UNCERTAIN, 0, 0},
    {"?", LX_UNCERTAIN, 0, 0},
    /* time */
    {"new", LX_TEMPORAL, PT_NEW, 0}, {"newly", LX_TEMPORAL, PT_NEW, 0}, {"developing", LX_TEMPORAL, PT_NEW, 0},
    {"development", LX_TEMPORAL, PT_NEW, 0}, {"emerging", LX_TEMPORAL, PT_NEW, 0}, {"developed", LX_TEMPORAL, PT_NEW, 0},
    {"increasing", LX_TEMPORAL, PT_WORSE, 0}, {"increased", LX_TEMPORAL, PT_WORSE, 0},
    {"increase", LX_TEMPORAL, PT_WORSE, 0}, {"worsening", LX_TEMPORAL, PT_WORSE, 0},
    {"worsened", LX_TEMPORAL, PT_WORSE, 0}, {"progression", LX_TEMPORAL, PT_WORSE, 0},
    {"progressive", LX_TEMPORAL, PT_WORSE, 0}, {"progressing", LX_TEMPORAL, PT_WORSE, 0},
    {"progressed", LX_TEMPORAL, PT_WORSE, 0}, {"enlarging", LX_TEMPORAL, PT_WORSE, 0},
    {"enlarged", LX_TEMPORAL, PT_WORSE, 0}, {"extending", LX_TEMPORAL, PT_WORSE, 0},
    {"extended", LX_TEMPORAL, PT_WORSE, 0}, {"extension", LX_TEMPORAL, PT_WORSE, 0}, {"spread", LX_TEMPORAL, PT_WORSE, 0}, {"grown", LX_TEMPORAL, PT_WORSE, 0}, {"growing", LX_TEMPORAL, PT_WORSE, 0},
    {"deterioration", LX_TEMPORAL, PT_WORSE, 0}, {"deteriorating", LX_TEMPORAL, PT_WORSE, 0},
    {"unchanged", LX_TEMPORAL, PT_STABLE, 0}, {"stable", LX_TEMPORAL, PT_STABLE, 0},
    {"persistent", LX_TEMPORAL, PT_STABLE, 0}, {"persisting", LX_TEMPORAL, PT_STABLE, 0},
    {"persists", LX_TEMPORAL, PT_STABLE, 0}, {"persist", LX_TEMPORAL, PT_STABLE, 0},
    {"redemonstrated", LX_TEMPORAL, PT_STABLE, 0}, {"again", LX_TEMPORAL, PT_STABLE, 0},
    {"remains", LX_TEMPORAL, PT_STABLE, 0}, {"residual", LX_TEMPORAL, PT_STABLE, 0},
    {"improving", LX_TEMPORAL, PT_BETTER, 0}, {"improved", LX_TEMPORAL, PT_BETTER, 0},
    {"improvement", LX_TEMPORAL, PT_BETTER, 0}, {"decreasing", LX_TEMPORAL, PT_BETTER, 0},
    {"decreased", LX_TEMPORAL, PT_BETTER, 0}, {"decrease", LX_TEMPORAL, PT_BETTER, 0},
    {"reduced", LX_TEMPORAL, PT_BETTER, 0}, {"reduction", LX_TEMPORAL, PT_BETTER, 0},
    {"regressing", LX_TEMPORAL, PT_BETTER, 0}, {"regression", LX_TEMPORAL, PT_BETTER, 0},
    {"regressed", LX_TEMPORAL, PT_BETTER, 0}, {"resolving", LX_TEMPORAL, PT_BETTER, 0},
    {"clearing", LX_TEMPORAL, PT_BETTER, 0}, {"smaller", LX_TEMPORAL, PT_BETTER, 0},
    {"partial", LX_TEMPORAL, PT_BETTER, 2}, {"partially", LX_TEMPORAL, PT_BETTER, 2},
    {"resolved", LX_TEMPORAL, PT_RESOLVED, 0}, {"cleared", LX_TEMPORAL, PT_RESOLVED, 0},
    {"disappeared", LX_TEMPORAL, PT_RESOLVED, 0}, {"clearance", LX_TEMPORAL, PT_RESOLVED, 0}, {"resolve", LX_TEMPORAL, PT_RESOLVED, 0},
    {"previously", LX_TEMPORAL, PT_RESOLVED, 1}, {"prior", LX_TEMPORAL, PT_RESOLVED, 1},
    {"previous", LX_TEMPORAL, PT_RESOLVED, 1},
    /* severity */
    {"mild", LX_SEVERITY, 1, 0}, {"mildly", LX_SEVERITY, 1, 0}, {"minimal", LX_SEVERITY, 1, 0},
    {"minor", LX_SEVERITY, 1, 0}, {"slight", LX_SEVERITY, 1, 0}, {"moderate", LX_SEVERITY, 2, 0},
    {"moderately", LX_SEVERITY, 2, 0}, {"severe", LX_SEVERITY, 3, 0}, {"severely", LX_SEVERITY, 3, 0},
    {"extensive", LX_SEVERITY, 3, 0}, {"marked", LX_SEVERITY, 3, 0}, {"markedly", LX_SEVERITY, 3, 0},
    {"widespread", LX_SEVERITY, 3, 0},
    /* distribution */
    {"peripheral", LX_DIST, PD_PERIPHERAL, 0}, {"peripherally", LX_DIST, PD_PERIPHERAL, 0},
    {"periphery", LX_DIST, PD_PERIPHERAL, 0}, {"subpleural", LX_DIST, PD_SUBPLEURAL, 0},
    {"central", LX_DIST, PD_CENTRAL, 0}, {"centrally", LX_DIST, PD_CENTRAL, 0},
    {"diffuse", LX_DIST, PD_DIFFUSE, 0}, {"diffusely", LX_DIST, PD_DIFFUSE, 0},
    {"peribronchovascular", LX_DIST, PD_PERIBRONCHOVASCULAR, 0},
    {"peribronchial", LX_DIST, PD_PERIBRONCHOVASCULAR, 0},
    /* predominance */
    {"predominant", LX_PREDOM, 0, 0}, {"predominantly", LX_PREDOM, 0, 0}, {"predominance", LX_PREDOM, 0, 0},
    {"predominating", LX_PREDOM, 0, 0}, {"predominately", LX_PREDOM, 0, 0}, {"mainly", LX_PREDOM, 0, 0},
    {"mostly", LX_PREDOM, 0, 0}, {"chiefly", LX_PREDOM, 0, 0}, {"favouring", LX_PREDOM, 0, 0}, {"favoring", LX_PREDOM, 0, 0}, {"preponderance", LX_PREDOM, 0, 0},
    {"more", LX_MORE, 0, 0}, {"most", LX_MORE, 0, 0}, {"greater", LX_MORE, 0, 0}, {"worse", LX_MORE, 0, 0},
    {"larger", LX_MORE, 0, 0}, {"pronounced", LX_MORE, 1, 0}, {"prominent", LX_MORE, 1, 0},
    /* clause boundaries */
    {"but", LX_BOUNDARY, 0, 0}, {"however", LX_BOUNDARY, 0, 0}, {"although", LX_BOUNDARY, 0, 0},
    {"though", LX_BOUNDARY, 0, 0}, {"whereas", LX_BOUNDARY, 0, 0}, {"while", LX_BOUNDARY, 0, 0},
    {"whilst", LX_BOUNDARY, 0, 0}, {"except", LX_BOUNDARY, 0, 0}, {"apart", LX_BOUNDARY, 0, 0},
    {"aside", LX_BOUNDARY, 0, 0}, {"which", LX_BOUNDARY, 0, 0},
    {"impression", LX_BOUNDARY, 0, 0}, {"findings", LX_BOUNDARY, 0, 0}, {"conclusion", LX_BOUNDARY, 0, 0},
    {"save", LX_BOUNDARY, 0, 0}, {"besides", LX_BOUNDARY, 0, 0},
    /* glue */
    {"in", LX_PREP, 0, 0}, {"within", LX_PREP, 0, 0}, {"of", LX_PREP, 0, 0}, {"at", LX_PREP, 0, 0},
    {"on", LX_PREP, 0, 0}, {"throughout", LX_PREP, 0, 0}, {"along", LX_PREP, 0, 0}, {"over", LX_PREP, 0, 0},
    {"across", LX_PREP, 0, 0}, {"into", LX_PREP, 0, 0}, {"from", LX_PREP, 0, 0}, {"for", LX_PREP, 0, 0},
    {"and", LX_AND, 0, 0}, {"or", LX_AND, 0, 0}, {"plus", LX_AND, 0, 0}, {"&", LX_AND, 0, 0},
    {"the", LX_THE, 0, 0},
    {"percent", LX_PCT, 0, 0}, {"%", LX_PCT, 0, 0}, {"ct", LX_CT, 0, 0},
    {"less", LX_LESS, 0, 0}, {"under", LX_LESS, 0, 0}, {"below", LX_LESS, 0, 0}, {"<", LX_LESS, 0, 0},
    {">", LX_MORE, 2, 0}, {"above", LX_MORE, 2, 0}, {"than", LX_TO, 1, 0},
    {"mm", LX_UNIT, 0, 0}, {"cm", LX_UNIT, 0, 0}, {"millimetre", LX_UNIT, 0, 0}, {"millimeter", LX_UNIT, 0, 0},
    {"centimetre", LX_UNIT, 0, 0}, {"centimeter", LX_UNIT, 0, 0}, {"x", LX_UNIT, 0, 0},
    {"is", LX_COPULA, 0, 0}, {"are", LX_COPULA, 0, 0}, {"was", LX_COPULA, 0, 0}, {"were", LX_COPULA, 0, 0},
    {"seen", LX_COPULA, 0, 0}, {"noted", LX_COPULA, 0, 0}, {"present", LX_COPULA, 0, 0},
    {"demonstrated", LX_COPULA, 0, 0}, {"identified", LX_COPULA, 0, 0}, {"visible", LX_COPULA, 0, 0},
    {"evident", LX_COPULA, 0, 0}, {"shows", LX_COPULA, 0, 0}, {"show", LX_COPULA, 0, 0},
    {"there", LX_THERE, 0, 0}, {"has", LX_COPULA, 0, 0}, {"have", LX_COPULA, 0, 0}, {"be", LX_COPULA, 0, 0},
    {"been", LX_COPULA, 0, 0}, {"visualised", LX_COPULA, 0, 0}, {"visualized", LX_COPULA, 0, 0},
    {"appreciated", LX_COPULA, 0, 0}, {"detected", LX_COPULA, 0, 0},
    {"patchy", LX_MOD, 0, 0}, {"focal", LX_MOD, 0, 0}, {"multifocal", LX_MOD, 0, 0}, {"dense", LX_MOD, 0, 0},
    {"small", LX_MOD, 0, 0}, {"large", LX_MOD, 0, 0}, {"tiny", LX_MOD, 0, 0}, {"faint", LX_MOD, 0, 0},
    {"scattered", LX_MOD, 0, 0}, {"subtle", LX_MOD, 0, 0}, {"confluent", LX_MOD, 0, 0},
    {"rounded", LX_MOD, 0, 0}, {"round", LX_MOD, 0, 0}, {"ill", LX_MOD, 0, 0}, {"defined", LX_MOD, 0, 0},
    {"wedge", LX_MOD, 0, 0}, {"shaped", LX_MOD, 0, 0}, {"linear", LX_MOD, 0, 0}, {"streaky", LX_MOD, 0, 0},
    {"bandlike", LX_MOD, 0, 0}, {"discrete", LX_MOD, 0, 0}, {"spiculated", LX_MOD, 0, 0},
    {"solid", LX_MOD, 0, 0}, {"irregular", LX_MOD, 0, 0}, {"mixed", LX_MOD, 0, 0}, {"ill-defined", LX_MOD, 0, 0},
    {"to", LX_TO, 0, 0}, {"through", LX_TO, 0, 0}, {"up", LX_LESS, 0, 0},
};
#define NLEX ((int)(sizeof LEX / sizeof LEX[0]))

/* Real words one or two edits from a lexicon word: never corrected. */
static const char *const NOT_TYPOS[] = {
    "lover", "lowers", "liver", "layer", "later", "latter", "letter", "lobed", "loses", "lower", "lines", "lying",
    "rights", "righted", "basis", "basin", "based", "baseline", "bases", "biases", "noted", "notes", "nodes",
    "modest", "model", "media", "medical", "medially", "meter", "minor", "mirror", "minimum", "interval",
    "internal", "interstitial", "intervals", "interface", "central", "certain", "cleared", "clean", "close",
    "closed", "clearly", "circular", "cardiac", "catheter", "changes", "change", "changed", "chest",
    "effusion", "effort", "effect", "effects", "patient", "patients", "pattern", "patterns", "partly",
    "previous", "prevent", "present", "presented", "process", "protocol", "probably", "profile", "prone",
    "surgical", "surgery", "series", "severity", "several", "segments", "sequence", "sections", "section",
    "studies", "study", "stable", "standard", "status", "supine", "support", "supra", "slight", "slightly",
    "single", "since", "shows", "shown", "small", "smaller", "dense", "densely", "degree", "deep",
    "discussed", "diaphragm", "diaphragms", "distal", "distant", "images", "imaging", "image", "inspiration",
    "infrahilar", "inferior", "anterior", "posterior", "exterior", "interior", "appearance", "appearances", "appears",
    "appear", "apparent", "against", "again", "along", "airway", "airways", "where", "there", "these",
    "those", "other", "others", "whether", "together", "elsewhere", "volume", "volumes", "views", "view",
    "trachea", "tracheal", "thoracic", "thorax", "technique", "comparison", "compared", "contrast",
    "consistent", "consider", "considered", "concern", "control", "correlation", "correlate", "clinical",
    "clinically", "contour", "contours", "normally", "opacify", "findings", "finding",
    "feature", "features", "further", "follow", "followup", "hilum", "hila", "heart", "hearts", "lesser",
    "lesson", "lessons", "legion", "margin", "margins", "marking", "markings", "mildly", "mostly", "motion",
    "multiple", "muscle", "muscles", "overall", "overlying", "pleura", "pleurae", "region", "regional",
    "remain", "remained", "right", "routine", "rotated", "rotation", "tissue", "tissues", "typical",
    "upright", "vessels", "vessel", "vascular", "within", "without", "within", "partial", "particular",
    "visible", "vision", "single", "signal", "signs", "singular", "anterolateral",
    "posterolateral", "lateral", "bilateral", "collateral", "unilateral", "unilaterally", "opposite",
    "obscured", "obscuring", "limited", "limits", "likely", "lucency", "lucent", "parenchymal",
};
#define NNOT ((int)(sizeof NOT_TYPOS / sizeof NOT_TYPOS[0]))

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

const lex_word *prose_lexicon_lookup(const char *w, int *typo)
{
    *typo = 0;
    for (int k = 0; k < NLEX; k++)
        if (strcmp(w, LEX[k].word) == 0)
            return &LEX[k];
    size_t lw = strlen(w);
    if (lw < 4 || (w[0] >= '0' && w[0] <= '9'))
        return NULL;
    for (int k = 0; k < NNOT; k++)
        if (strcmp(w, NOT_TYPOS[k]) == 0)
            return NULL;
    const lex_word *best = NULL;
    int best_d = 3;
    for (int k = 0; k < NLEX; k++) {
        size_t lv = strlen(LEX[k].word);
        if (lv < 5 || LEX[k].word[0] != w[0])
            continue;
        int allowed = lw >= 8 && lv >= 8 ? 2 : lw >= 5 ? 1 : 0;
        /* words that flip a finding's polarity or time: one edit at most */
        if (allowed > 1 && (LEX[k].cls == LX_CLEAR || LEX[k].cls == LX_NEG_PRE || LEX[k].cls == LX_NEG_POST ||
                            LEX[k].cls == LX_TEMPORAL || LEX[k].cls == LX_UNCERTAIN))
            allowed = 1;
        /* four letters: one edit from a five-letter side or level word ("uppr", "rigt", "lowr") */
        if (lw == 4 && lv == 5 && (LEX[k].cls == LX_SIDE || LEX[k].cls == LX_LEVEL))
            allowed = 1;
        int d = allowed ? lexicon_osa_distance(w, LEX[k].word) : 3;
        if (d > allowed && lw == 4 && squeezed_equal(w, LEX[k].word))
            d = 1;   /* "uper" = "upper": a doubled letter typed once */
        else if (d > allowed)
            d = 3;
        if (d <= 2 && d < best_d) {
            best = &LEX[k];
            best_d = d;
        }
    }
    if (best)
        *typo = 1;
    return best;
}
