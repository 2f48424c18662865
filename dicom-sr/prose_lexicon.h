/* prose_lexicon: the word lists of the report-prose parser (private to dicom-sr/).
 * One lower-case word -> a class and a value; words outside the lexicon are matched to a
 * lexicon word with the same first letter within one edit (5-7 letters) or two edits
 * (8+ letters, Damerau), unless they are common English words listed as never-typos. */
#ifndef C2SEG_DICOM_SR_PROSE_LEXICON_H
#define C2SEG_DICOM_SR_PROSE_LEXICON_H

typedef enum lex_class {
    LX_NONE = 0,
    LX_SIDE,        /* val 1 left, 2 right, 3 both / bilateral */
    LX_LEVEL,       /* val bits 1 upper 2 middle 4 lower; sub 1 = plural (bases, apices) */
    LX_ZONEWORD,    /* a word that is side and level at once: val = 6-bit zone mask (RUL, bibasal, lingula) */
    LX_REGION,      /* val 1 lung, 2 lobe, 3 zone / field, 4 hemithorax / side; sub 1 = plural */
    LX_ALL,         /* all, entire, whole */
    LX_SEGNAME,     /* segment names; val = level bits of the lobe they belong to */
    LX_SEGMENT,     /* segment(s), segmental */
    LX_LESION,      /* val PF_* kind; sub 1 = plural */
    LX_GENERIC,     /* abnormality, disease, process, involvement, involved, affected, changes */
    LX_NONLESION,   /* val PN_* kind */
    LX_CONTAINER,   /* area, focus, patch, region (count targets: "two areas of ...") */
    LX_NUMBER,      /* val */
    LX_ARTICLE,     /* a, an, single, solitary: count 1 before a singular finding */
    LX_QUANT,       /* val lo, sub hi: multiple 2+, several 3+, few 2-4, numerous */
    LX_NEG_PRE,     /* no, not, without, nor, neither, absence */
    LX_NEG_POST,    /* absent, excluded */
    LX_CLEAR,       /* clear, normal, unremarkable: clears the region / finding of its chunk */
    LX_UNCERTAIN,
    LX_TEMPORAL,    /* val prose_temporal; sub 1 = "previously" (prior, see prose_modifiers.c) */
    LX_SEVERITY,    /* val 1 mild 2 moderate 3 severe */
    LX_DIST,        /* val PD_* */
    LX_PREDOM,      /* predominant(ly), predominance, predominating */
    LX_MORE,        /* more, most, greater, worse (with a side: predominance) */
    LX_BOUNDARY,    /* but, however, although, though, whereas, while, except, otherwise */
    LX_PREP,        /* in, within, of, involving, at, on, throughout, affecting, along, over, across */
    LX_AND,         /* and, or, as well as */
    LX_THE,
    LX_PCT,         /* percent */
    LX_CT,          /* "ct" (CT-0..CT-4) */
    LX_LESS,        /* less, under, below, up */
    LX_UNIT,        /* mm, cm */
    LX_COPULA,      /* is, are, seen, noted, present ... */
    LX_THERE,       /* there: ends a negation's scope */
    LX_MOD,         /* patchy, focal, dense, small ...: a positive description */
    LX_TO,          /* to, through (ranges) */
} lex_class;

/* What the lexicon says of one word. */
typedef struct lex_word {
    lex_class cls;
    int val;
    int sub;
} lex_word;

/* Fills *out with the lexicon entry for the lower-case word w and returns 1, or returns 0.
 * *typo = 1 when it was found by the edit-distance match. Polarity and time words accept
 * one edit at most; four-letter words match five-letter side / level words. */
int prose_lexicon_lookup(const char *w, lex_word *out, int *typo);
/* Optimal string alignment distance (insert, delete, substitute, swap adjacent) between two
 * words, capped at 3: 3 means "more than 2", and words of 40 bytes or more are always 3. Both
 * parsers' typo matching (the template grammar's and the prose lexicon's). */
int lexicon_osa_distance(const char *a, const char *b);

#endif
