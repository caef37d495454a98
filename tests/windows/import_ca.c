/*
 * Test aid only - never shipped. Imports a PEM CA certificate into the LocalMachine "Root"
 * store of the current (Wine) prefix, so that SChannel trusts a throwaway test CA without the
 * ca_file option, as a machine whose administrator deployed the CA would.
 *
 *   import_ca.exe CA.pem        (exit 0 on success)
 */
#include <windows.h>
#include <wincrypt.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    FILE *f;
    char *pem;
    long size;
    DWORD der_len = 0;
    BYTE *der;
    HCERTSTORE store;

    if (argc != 2) {
        fprintf(stderr, "usage: import_ca CA.pem\n");
        return 2;
    }
    f = fopen(argv[1], "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "import_ca: cannot read %s\n", argv[1]);
        return 1;
    }
    pem = calloc(1, (size_t)size + 1);
    if (pem == NULL || fread(pem, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "import_ca: cannot read %s\n", argv[1]);
        return 1;
    }
    fclose(f);
    if (!CryptStringToBinaryA(pem, 0, CRYPT_STRING_BASE64HEADER, NULL, &der_len, NULL, NULL) ||
        (der = malloc(der_len)) == NULL ||
        !CryptStringToBinaryA(pem, 0, CRYPT_STRING_BASE64HEADER, der, &der_len, NULL, NULL)) {
        fprintf(stderr, "import_ca: %s is not a PEM certificate (error %lu)\n", argv[1], GetLastError());
        return 1;
    }
    store = CertOpenStore(CERT_STORE_PROV_SYSTEM_A, 0, 0, CERT_SYSTEM_STORE_LOCAL_MACHINE, "Root");
    if (store == NULL) {
        fprintf(stderr, "import_ca: cannot open the LocalMachine Root store (error %lu)\n", GetLastError());
        return 1;
    }
    if (!CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, der, der_len, CERT_STORE_ADD_REPLACE_EXISTING, NULL)) {
        fprintf(stderr, "import_ca: cannot add the certificate (error %lu)\n", GetLastError());
        return 1;
    }
    CertCloseStore(store, 0);
    printf("import_ca: %s added to LocalMachine\\Root\n", argv[1]);
    return 0;
}
