"""The console mailer `make run` uses, printing each message as a person reads it.

Django's console backend prints the message as it would travel: with Python's default e-mail
policy a body line over 78 characters (a status link with its signed token) makes the whole
body quoted-printable, so a link is cut with "=" at the line ends and cannot be copied. Here
lines may be as long as SMTP allows (998), so the body is printed as it is: 7-bit or 8-bit
UTF-8, never quoted-printable or base64. Headers are printed decoded (a subject with an
accent reads "Nous avons bien reçu votre clip", not "=?utf-8?q?re=C3=A7u?=").
"""

import email
import email.policy

from django.core.mail.backends import console

READABLE = email.policy.default.clone(max_line_length=998)


class EmailBackend(console.EmailBackend):
    def write_message(self, message):
        raw = message.message(policy=READABLE).as_bytes()
        _head, _, body = raw.decode("utf-8").partition("\n\n")
        headers = email.message_from_bytes(raw, policy=email.policy.default).items()
        head = "\n".join(f"{name}: {value}" for name, value in headers)
        self.stream.write(f"{head}\n\n{body}\n")
        self.stream.write("-" * 79 + "\n")
