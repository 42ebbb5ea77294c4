/*
 * bcryptprimitives.dll for Wine 8.0, which has none. The Windows builds of esbuild, rolldown and
 * lightningcss (Go and Rust programs) import ProcessPrng from it for their random numbers; without
 * it they fail to load and vitest cannot start under Wine. Windows documents ProcessPrng as
 * "always returns TRUE" and fills the buffer from the system's CSPRNG; SystemFunction036
 * (RtlGenRandom, in advapi32) is that generator in Wine, so this forwards to it.
 *
 * Built by tools/scripts/windows-lane (x86_64-w64-mingw32-gcc from Debian's
 * gcc-mingw-w64-x86-64-win32) into the throwaway Wine prefix only; never installed anywhere else.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
  /* RtlGenRandom takes a ULONG length: feed it in chunks so a SIZE_T request is never truncated. */
  while (length > 0) {
    ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
    if (!SystemFunction036(data, chunk)) return FALSE;
    data += chunk;
    length -= chunk;
  }
  return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved) {
  (void)instance;
  (void)reason;
  (void)reserved;
  return TRUE;
}
