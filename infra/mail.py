"""The console mailer `make run` uses, printing each message as a person reads it.

Django's console backend prints the message as it would travel: with Python's default e-mail
policy a body line over 78 characters (a status link with its signed token) makes the whole
body quoted-printable, so a link is cut with "=" at the line ends and cannot be copied. Here
lines may be as long as SMTP allows (998), so the body is printed as it is: 7-bit or 8-bit
UTF-8, never quoted-printable or base64.
"""

import email.policy

from django.core.mail.backends import console

READABLE = email.policy.default.clone(max_line_length=998)


class EmailBackend(console.EmailBackend):
    def write_message(self, message):
        self.stream.write(message.message(policy=READABLE).as_bytes().decode("utf-8") + "\n")
        self.stream.write("-" * 79 + "\n")
