/*
 * utf8.h: the one UTF-8 decoder, for every module that reads text by code
 * point, the guest agent included (libc only: this file and utf8.c include
 * nothing of muster's).
 */
#ifndef MUSTER_UTF8_H
#define MUSTER_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The code point at s (n > 0 bytes left) into *ret_cp, and its length in
 * bytes; 0 when s does not start valid shortest-form UTF-8 (an overlong
 * form, a surrogate, past U+10FFFF, a sequence cut short or broken).
 */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *ret_cp);

/* Whether the len bytes at s are valid shortest-form UTF-8 throughout. */
bool utf8_valid(const unsigned char *s, size_t len);

#endif
