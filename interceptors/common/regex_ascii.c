/*
 * regex_ascii_compile (see regex_ascii.h): checks that the pattern qualifies, then compiles it
 * without UTF, with NEVER_UTF so that a (*UTF) in it refuses rather than turns UTF back on.
 */
#include "regex_ascii.h"

#include "newline_scan.h"

pcre2_code *regex_ascii_compile(const char *pattern, size_t len, uint32_t utf_options)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)pattern[i] >= 0x80)
            return NULL;
    if (newline_scan_rare((const uint8_t *)pattern, len))
        return NULL;
    pcre2_compile_context *cctx = pcre2_compile_context_create(NULL);
    if (!cctx)
        return NULL;
    pcre2_set_newline(cctx, PCRE2_NEWLINE_LF);
    uint32_t options =
        (utf_options & ~(uint32_t)(PCRE2_UTF | PCRE2_MATCH_INVALID_UTF)) | PCRE2_NEVER_UTF;
    int code;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, len, options, &code, &off, cctx);
    pcre2_compile_context_free(cctx);
    if (re && pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) != 0) {
        pcre2_code_free(re);
        re = NULL;
    }
    return re;
}
