"""
moto server with ACM's managed renewal, which moto (5.2.5) lacks: it never renews an ARN.

`POST /_certrotor_test/acm/renew?arn=<certificate ARN>` renews an issued certificate as ACM does:
the same ARN, still exportable, a new key and a new certificate for the same names valid for 400
days from now (moto's own issue 365, so the renewal ends later). It answers the renewed NotAfter
and serial. Everything else is moto's server unchanged (same arguments as moto_server).
Used by test/cli/acm-run-renewal.test.ts, which runs `certrotor run` through the binary.
"""
import datetime
import json
from urllib.parse import parse_qs

import moto.server as server
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from moto.acm.models import acm_backends

RENEW_PATH = "/_certrotor_test/acm/renew"


def renew(arn: str) -> dict:
    _, _, _, region, account, _ = arn.split(":", 5)
    bundle = acm_backends[account][region].get_certificate(arn)
    if bundle.status != "ISSUED":
        raise ValueError(f"{arn} is {bundle.status}, not ISSUED")
    old = bundle._cert
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(old.subject)
        .issuer_name(old.issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=400))
    )
    san = old.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    cert = builder.add_extension(san.value, critical=False).sign(key, hashes.SHA256())
    bundle.cert = cert.public_bytes(serialization.Encoding.PEM)
    bundle.key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    bundle._key = bundle.validate_pk()
    bundle._cert = bundle.validate_certificate()
    return {"notAfter": cert.not_valid_after_utc.isoformat(), "serial": str(cert.serial_number)}


class WithAcmRenewal(server.DomainDispatcherApplication):
    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        if environ.get("PATH_INFO") != RENEW_PATH or environ.get("REQUEST_METHOD") != "POST":
            return super().__call__(environ, start_response)
        try:
            arn = parse_qs(environ.get("QUERY_STRING", ""))["arn"][0]
            body, status = renew(arn), "200 OK"
        except Exception as error:  # the test reads the reason
            body, status = {"error": str(error)}, "400 Bad Request"
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]


server.DomainDispatcherApplication = WithAcmRenewal  # type: ignore[misc]

if __name__ == "__main__":
    server.main()
