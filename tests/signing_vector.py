"""The signature vector (spec §2) the signing tests pin: content bytes and a signature computed with the
openssl CLI from the fixture key, independently of pos_app and of Python's json."""

from __future__ import annotations

from kit import FIXTURES

PRIVATE_PEM = FIXTURES / "vector_merchant_private.pem"
PUBLIC_PEM = FIXTURES / "vector_merchant_public.pem"

PATH = "/ams/api/v1/payments/pay"
CLIENT_ID = "SANDBOX_5YEZ1J2YJ5Y704017"
TIME = "2026-11-22T00:51:03+00:00"
# Indented and multi-line, as the Python SDK sends it, with non-ASCII text: the exact UTF-8 bytes are signed.
BODY = (
    '{\n'
    '    "productCode": "IN_STORE_PAYMENT",\n'
    '    "paymentRequestId": "vector-0001",\n'
    '    "paymentAmount": {\n'
    '        "currency": "USD",\n'
    '        "value": "1234"\n'
    '    },\n'
    '    "order": {\n'
    '        "orderDescription": "Café crème"\n'
    '    }\n'
    '}'
).encode()

# Computed once with OpenSSL 3.0, independently of pos_app and of Python's json, from the fixture key:
#   printf 'POST /ams/api/v1/payments/pay\nSANDBOX_5YEZ1J2YJ5Y704017.2026-11-22T00:51:03+00:00.{\n
#     "productCode": "IN_STORE_PAYMENT",\n    "paymentRequestId": "vector-0001",\n    "paymentAmount":
#     {\n        "currency": "USD",\n        "value": "1234"\n    },\n    "order": {\n
#     "orderDescription": "Caf\xc3\xa9 cr\xc3\xa8me"\n    }\n}' > content.bin     (one line, no final \n)
#   openssl dgst -sha256 -sign tests/fixtures/vector_merchant_private.pem -out sig.bin content.bin
#   openssl base64 -A -in sig.bin > sig.b64
#   python3 -c "import urllib.parse; print(urllib.parse.quote_plus(open('sig.b64').read().strip()))"
# and checked with: openssl dgst -sha256 -verify vector_merchant_public.pem -signature sig.bin content.bin
VECTOR_SIGNATURE = (
    "hZCRjUuvePGiq0fIXI%2BLTJVpsU%2F4PftwZS3%2FUvsk3C66MlP8bkZKHjNzRtOhV182EKLkhgtokJeRgWBVJzJoVtkjTZMO4bYrM9y"
    "yHFAG3tf5LvnyulcyG0XdaTmljo6gFTh%2B1yw2qfsLEowaahhawsZgzW914zykfJeADldL1626frBUod1igDMWU01NNZfLP3vDUMLBD1"
    "Ch41hy8bVBKa494y2l13aVW2713RiidbRHDBn80saQGR6XgsmlmJnBVesyGyGS0GpVl7SfkdkLSI4MEPg2EMszOzLHjL38RH%2BNcEDeta"
    "63Ec7AMjgS5Jga6somTWsoKa%2BzsXdnPMAf3A%3D%3D"
)
VECTOR_HEADER = "algorithm=RSA256,keyVersion=1,signature=" + VECTOR_SIGNATURE
