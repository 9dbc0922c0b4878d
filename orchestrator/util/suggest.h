/*
 * suggest.h: "did you mean": the name nearest to a word that is likely a
 * typo of it, by Damerau-Levenshtein distance (an adjacent swap counts
 * one), within 1 edit for words of up to 3 characters, 2 up to 6, 3 past.
 */
#ifndef MUSTER_SUGGEST_H
#define MUSTER_SUGGEST_H

#include <stddef.h>

/* The edit distance of a and b; 99 when either is longer than 32 characters. */
size_t suggest_distance(const char *a, const char *b);

/* The nearest of names (NULL entries skipped) to word when near enough, else NULL. */
const char *suggest_near(const char *word, const char *const *names, size_t n);

#endif
