"""A real SMTP server for the alert tests: takes every message on 127.0.0.1 and appends it
to a file.

Usage: python3 smtp_sink.py MAILBOX_FILE

Prints the port it listens on (one line) once it accepts connections, then serves until
its stdin closes or it is killed. It binds port 0 itself through asyncio rather than using
aiosmtpd's Controller, which wants a fixed port: no port races between parallel tests.

Each message is appended as the envelope, the raw message, and a line "--- end ---".
"""

import asyncio
import os
import sys
import threading

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, path):
        self.path = path

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "replace")
        with open(self.path, "ab") as f:
            f.write(b"X-Envelope-From: " + envelope.mail_from.encode() + b"\n")
            for rcpt in envelope.rcpt_tos:
                f.write(b"X-Envelope-To: " + rcpt.encode() + b"\n")
            f.write(content.replace(b"\r\n", b"\n"))
            f.write(b"\n--- end ---\n")
        return "250 Message accepted"


def exit_when_stdin_closes():
    # The test holds our stdin; if it dies without killing us, we go too.
    sys.stdin.read()
    os._exit(0)


async def main(path):
    loop = asyncio.get_running_loop()
    handler = Sink(path)
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="sink.test"), host="127.0.0.1", port=0
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    asyncio.run(main(sys.argv[1]))
