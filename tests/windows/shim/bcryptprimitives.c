/*
 * Test aid only - never shipped with imapmail.
 *
 * Rust's standard library for Windows (1.78 and later) draws random bytes from
 * ProcessPrng in bcryptprimitives.dll. Wine 8 has no such export, so a Rust-built
 * .exe or .dll fails to load under it. This shim, named bcryptprimitives.dll and
 * placed next to the test .exe (the application directory is searched before the
 * system directory), provides ProcessPrng by forwarding to BCryptGenRandom from
 * bcrypt.dll, which Wine implements. Real Windows 10/11 has its own ProcessPrng.
 *
 * Built by tests/suites/windows.sh:
 *   x86_64-w64-mingw32-gcc -shared -O2 -o bcryptprimitives.dll bcryptprimitives.c \
 *       bcryptprimitives.def -lbcrypt
 */
#include <windows.h>
#include <bcrypt.h>

#ifndef BCRYPT_USE_SYSTEM_PREFERRED_RNG
#define BCRYPT_USE_SYSTEM_PREFERRED_RNG 0x00000002
#endif

/* BOOL WINAPI ProcessPrng(PBYTE pbData, SIZE_T cbData): always TRUE on Windows. */
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x40000000u ? 0x40000000u : (ULONG)len;
        if (BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0)
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
    (void)instance; (void)reason; (void)reserved;
    return TRUE;
}
