# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_secretctl_global_optspecs
    string join \n server= ca-cert= json retry-for= v/verbose h/help V/version
end

function __fish_secretctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_secretctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_secretctl_using_subcommand
    set -l cmd (__fish_secretctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c secretctl -n "__fish_secretctl_needs_command" -l server -r
complete -c secretctl -n "__fish_secretctl_needs_command" -l ca-cert -r -F
complete -c secretctl -n "__fish_secretctl_needs_command" -l retry-for -r
complete -c secretctl -n "__fish_secretctl_needs_command" -l json
complete -c secretctl -n "__fish_secretctl_needs_command" -s v -l verbose
complete -c secretctl -n "__fish_secretctl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c secretctl -n "__fish_secretctl_needs_command" -s V -l version -d 'Print version'
complete -c secretctl -n "__fish_secretctl_needs_command" -f -a "serve" -d 'Run the server'
complete -c secretctl -n "__fish_secretctl_needs_command" -f -a "register" -d 'Create an account (password prompted without echo, or --password-stdin)'
complete -c secretctl -n "__fish_secretctl_needs_command" -f -a "login" -d 'Log in and cache the session token (0600) for this server'
complete -c secretctl -n "__fish_secretctl_needs_command" -f -a "logout" -d 'Revoke the cached session and forget it'
complete -c secretctl -n "__fish_secretctl_needs_command" -f -a "account" -d 'Your account: show it, set the alert email address, change the password, list and revoke sessions, delete it'
complete -c secretctl -n "__fish_secretctl_needs_command" -f -a "put" -d 'Store a new secret; the value comes from --value, --from-file, or stdin'
complete -c secretctl -n "__fish_secretctl_needs_command" -f -a "get" -d 'Print a secret\'s value exactly, byte for byte (--json for the full record); an older value with --version N'
complete -c secretctl -n "__fish_secretctl_needs_command" -f -a "ls" -d 'List your secrets (never their values)'
complete -c secretctl -n "__fish_secretctl_needs_command" -f -a "list" -d 'List your secrets (never their values)'
complete -c secretctl -n "__fish_secretctl_needs_command" -f -a "rm" -d 'Delete a secret'
complete -c secretctl -n "__fish_secretctl_needs_command" -f -a "delete" -d 'Delete a secret'
complete -c secretctl -n "__fish_secretctl_needs_command" -f -a "update" -d 'Change a secret\'s name, description, tags or value (a value piped on stdin alone replaces the value)'
complete -c secretctl -n "__fish_secretctl_needs_command" -f -a "history" -d 'List a secret\'s kept versions: number, time, and who set each (never values)'
complete -c secretctl -n "__fish_secretctl_needs_command" -f -a "rollback" -d 'Make an older version\'s value current again (as a new version; history is kept)'
complete -c secretctl -n "__fish_secretctl_needs_command" -f -a "share" -d 'Share a secret through a one-time, expiring link; prints the URL alone'
complete -c secretctl -n "__fish_secretctl_needs_command" -f -a "open" -d 'Redeem a share link (no login needed) and print the value exactly, like get'
complete -c secretctl -n "__fish_secretctl_needs_command" -f -a "shares" -d 'List a secret\'s active share links (never their tokens)'
complete -c secretctl -n "__fish_secretctl_needs_command" -f -a "unshare" -d 'Revoke a share link at once'
complete -c secretctl -n "__fish_secretctl_needs_command" -f -a "run" -d 'Run a command with secrets in its environment (and optionally in files)'
complete -c secretctl -n "__fish_secretctl_needs_command" -f -a "export" -d 'Print secrets as dotenv, JSON or shell, or hand them to GitHub Actions'
complete -c secretctl -n "__fish_secretctl_needs_command" -f -a "inject" -d 'Fill `{{ sctl://REF }}` placeholders in a template with secret values'
complete -c secretctl -n "__fish_secretctl_needs_command" -f -a "audit" -d 'Show your audit trail, newest first (`audit verify` checks a server\'s whole chain)'
complete -c secretctl -n "__fish_secretctl_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c secretctl -n "__fish_secretctl_needs_command" -f -a "admin" -d 'Manage the master key file and rotate keys (on the server\'s files; stop it first)'
complete -c secretctl -n "__fish_secretctl_needs_command" -f -a "team" -d 'Create teams and manage their members; a team owns secrets its members share'
complete -c secretctl -n "__fish_secretctl_needs_command" -f -a "token" -d 'Create, list and revoke service tokens: scoped credentials for CI (SECRETCTL_TOKEN)'
complete -c secretctl -n "__fish_secretctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c secretctl -n "__fish_secretctl_using_subcommand serve" -l addr -d 'Address to listen on; port 0 picks a free port' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand serve" -l data-dir -d 'Directory for the database (and the master key unless --key-file); created 0700' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand serve" -l key-file -d 'Master key file [default: DIR/master.key]; keep it on a separate mount or backup' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand serve" -l passphrase-file -d 'Read the master key file\'s passphrase from FILE (a trailing newline is dropped). Without it, SECRETCTL_PASSPHRASE is used, else a sealed key file is prompted for without echo when stdin is a terminal. A new data dir started with a passphrase gets a sealed key file from the start' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand serve" -l session-ttl -d 'How long a login session lasts (e.g. 3600, 30m, 24h, 7d)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand serve" -l workers -d 'Requests handled at once, each on its connection\'s thread; 4 × N more may wait for a turn, and past that a request gets 503 at once' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand serve" -l tls-cert -d 'Serve HTTPS with this PEM certificate chain (server certificate first); needs --tls-key' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand serve" -l tls-key -d 'PEM private key for --tls-cert (PKCS#8, PKCS#1 RSA or SEC1 EC; not encrypted)' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand serve" -l public-url -d 'Public base URL for share links (e.g. https://secrets.example.com) [default: http(s)://<listening address>; when listening on 0.0.0.0 or ::, the Host header of the request that creates the link, with a warning at start]' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand serve" -l keep-versions -d 'Values of each secret to keep, the current one included (1-100): older versions can be read with `get --version` and restored with `rollback`. A lower number prunes a secret\'s extra versions at its next new value' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand serve" -l audit-log -d 'Also append every audit record to FILE as one JSON line (for log shippers). If it cannot be written, the operation being audited is refused (503)' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand serve" -l rate-limit -d 'Requests per second per client address, for most endpoints (burst: twice as many); 0 turns the limit off' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand serve" -l auth-rate-limit -d 'Logins and registrations per minute per client address; 0 turns the limit off' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand serve" -l share-rate-limit -d 'Share-link requests (/share/TOKEN) per minute per client address; 0 turns it off' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand serve" -l client-timeout -d 'Seconds one read from a client may block (TLS handshake, headers, each part of a body, an idle kept-alive connection) before the connection is dropped' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand serve" -l shutdown-timeout -d 'Seconds a graceful shutdown (SIGTERM, SIGINT) may take in all: requests in progress are finished or, past this, cut off, and the process exits. Keep it below your service manager\'s stop timeout' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand serve" -l registration -d 'Whether anyone may create an account; close it once your accounts exist' -r -f -a "open\t''
closed\t''"
complete -c secretctl -n "__fish_secretctl_using_subcommand serve" -l alert-webhook -d 'POST a JSON alert (Slack-compatible "text" plus structured fields) to URL when a share link is created or redeemed, a dead link is tried, or an account sees repeated failed logins. Delivery is asynchronous and best-effort; failures are logged' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand serve" -l alert-smtp -d 'Also mail each alert to the account\'s address (`secretctl account set-email`) through this SMTP server' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand serve" -l alert-smtp-from -d 'Sender address of alert mail (required with --alert-smtp)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand serve" -l alert-smtp-user -d 'SMTP login; the password comes from SECRETCTL_ALERT_SMTP_PASSWORD' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand serve" -l alert-smtp-tls -d 'Transport security: STARTTLS (required, not opportunistic), TLS from the first byte (usually port 465), or none (only for a relay on this host)' -r -f -a "none\t''
starttls\t''
tls\t''"
complete -c secretctl -n "__fish_secretctl_using_subcommand serve" -l trusted-hops -d 'With --trust-proxy: how many proxies in front of the server append to X-Forwarded-For; the address the outermost one appended is the client\'s' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand serve" -l sweep-interval -d 'Seconds between sweeps that delete expired sessions and share links' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand serve" -l test-clock-file -d 'TEST ONLY: a file holding a clock offset in seconds, to test expiry without waiting' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand serve" -l metrics-addr -d 'Serve Prometheus metrics at http://HOST:PORT/metrics, on a listener of their own (plain HTTP; keep it on a private address). Off unless given' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand serve" -l log-format -d 'Request log format on stderr: `text` (one line a request) or `json` (one object a line, for log shippers)' -r -f -a "text\t''
json\t''"
complete -c secretctl -n "__fish_secretctl_using_subcommand serve" -l trust-proxy -d 'Take client addresses from X-Forwarded-For (only behind a proxy you run, which must overwrite or append to that header); without it the header is ignored'
complete -c secretctl -n "__fish_secretctl_using_subcommand serve" -l insecure-fast-kdf -d 'TEST ONLY: cheap password hashing (and cheap sealing of a new key file) so test suites run fast. Never for real accounts or keys'
complete -c secretctl -n "__fish_secretctl_using_subcommand serve" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand register" -s u -l username -d 'Account name: 3-64 characters of a-z, 0-9, \'.\', \'_\', \'-\'' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand register" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand register" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand register" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand register" -l password-stdin -d 'Read the password from the first line of stdin (for scripts)'
complete -c secretctl -n "__fish_secretctl_using_subcommand register" -l insecure-http -d 'Send the password over plain http:// to a server that is not this machine. Without it, that is refused: anyone on the network path could read the password'
complete -c secretctl -n "__fish_secretctl_using_subcommand register" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand register" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand register" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand login" -s u -l username -d 'Account name: 3-64 characters of a-z, 0-9, \'.\', \'_\', \'-\'' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand login" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand login" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand login" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand login" -l password-stdin -d 'Read the password from the first line of stdin (for scripts)'
complete -c secretctl -n "__fish_secretctl_using_subcommand login" -l insecure-http -d 'Send the password over plain http:// to a server that is not this machine. Without it, that is refused: anyone on the network path could read the password'
complete -c secretctl -n "__fish_secretctl_using_subcommand login" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand login" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand login" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand logout" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand logout" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand logout" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand logout" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand logout" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand logout" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and not __fish_seen_subcommand_from show set-email passwd sessions delete help" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and not __fish_seen_subcommand_from show set-email passwd sessions delete help" -f -a "show" -d 'Show your account: id, username and alert email address'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and not __fish_seen_subcommand_from show set-email passwd sessions delete help" -f -a "set-email" -d 'Set the address the server mails security alerts to ("" clears it); mail is only sent when the server runs with --alert-smtp'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and not __fish_seen_subcommand_from show set-email passwd sessions delete help" -f -a "passwd" -d 'Change your password (current once, new twice, without echo); every other session of the account is revoked, this one stays'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and not __fish_seen_subcommand_from show set-email passwd sessions delete help" -f -a "sessions" -d 'List your sessions (this one marked), or revoke them'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and not __fish_seen_subcommand_from show set-email passwd sessions delete help" -f -a "delete" -d 'Delete your account with its secrets, share links and sessions (the password is asked again). Audit records stay; the username stays reserved'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and not __fish_seen_subcommand_from show set-email passwd sessions delete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from show" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from show" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from show" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from show" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from show" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from set-email" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from set-email" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from set-email" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from set-email" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from set-email" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from set-email" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from passwd" -s u -l username -d 'Replace the one-time password an operator set for USER (`admin users reset-password`): needs no session, since login refuses a one-time password until it is replaced. Every session of the account is revoked; log in afterwards' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from passwd" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from passwd" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from passwd" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from passwd" -l password-stdin -d 'Read the current password from the first line of stdin and the new one from the second (for scripts)'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from passwd" -l insecure-http -d 'Send the passwords over plain http:// to a server that is not this machine'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from passwd" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from passwd" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from passwd" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from sessions" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from sessions" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from sessions" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from sessions" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from sessions" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from sessions" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from sessions" -f -a "revoke" -d 'Revoke one session by the ID `account sessions` lists, or all but this one'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from sessions" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from delete" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from delete" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from delete" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from delete" -l yes -d 'Do not ask for confirmation (needed when stdin is not a terminal)'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from delete" -l password-stdin -d 'Read the password from the first line of stdin (for scripts)'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from delete" -l insecure-http -d 'Send the password over plain http:// to a server that is not this machine'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from delete" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from delete" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show your account: id, username and alert email address'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from help" -f -a "set-email" -d 'Set the address the server mails security alerts to ("" clears it); mail is only sent when the server runs with --alert-smtp'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from help" -f -a "passwd" -d 'Change your password (current once, new twice, without echo); every other session of the account is revoked, this one stays'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from help" -f -a "sessions" -d 'List your sessions (this one marked), or revoke them'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete your account with its secrets, share links and sessions (the password is asked again). Audit records stay; the username stays reserved'
complete -c secretctl -n "__fish_secretctl_using_subcommand account; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c secretctl -n "__fish_secretctl_using_subcommand put" -s d -l description -d 'Free-text description' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand put" -s t -l tag -d 'Tag (repeatable)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand put" -l value -d 'The value itself (visible in shell history and `ps`; prefer stdin or --from-file)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand put" -l from-file -d 'Read the value from a file, byte for byte ("-" reads stdin)' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand put" -l team -d 'Work on this team\'s secrets instead of your own (a NAME given as TEAM:NAME wins)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand put" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand put" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand put" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand put" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand put" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand put" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand get" -l team -d 'Work on this team\'s secrets instead of your own (a NAME given as TEAM:NAME wins)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand get" -l version -d 'Print the value this secret had at version N (see `secretctl history NAME`) instead of the current one' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand get" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand get" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand get" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand get" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand get" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand get" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand ls" -s t -l tag -d 'Only secrets with this tag' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand ls" -l team -d 'Work on this team\'s secrets instead of your own (a NAME given as TEAM:NAME wins)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand ls" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand ls" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand ls" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand ls" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand ls" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand ls" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand list" -s t -l tag -d 'Only secrets with this tag' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand list" -l team -d 'Work on this team\'s secrets instead of your own (a NAME given as TEAM:NAME wins)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand list" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand list" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand list" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand list" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand list" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand list" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand rm" -l team -d 'Work on this team\'s secrets instead of your own (a NAME given as TEAM:NAME wins)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand rm" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand rm" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand rm" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand rm" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand rm" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand rm" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand delete" -l team -d 'Work on this team\'s secrets instead of your own (a NAME given as TEAM:NAME wins)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand delete" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand delete" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand delete" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand delete" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand delete" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand delete" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand update" -l rename -d 'New name' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand update" -s d -l description -d 'New description ("" clears it)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand update" -s t -l tag -d 'Replace the tags with these (repeatable)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand update" -l value -d 'The value itself (visible in shell history and `ps`; prefer stdin or --from-file)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand update" -l from-file -d 'Read the value from a file, byte for byte ("-" reads stdin)' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand update" -l team -d 'Work on this team\'s secrets instead of your own (a NAME given as TEAM:NAME wins)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand update" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand update" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand update" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand update" -l clear-tags -d 'Remove all tags'
complete -c secretctl -n "__fish_secretctl_using_subcommand update" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand update" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand update" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand history" -l team -d 'Work on this team\'s secrets instead of your own (a NAME given as TEAM:NAME wins)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand history" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand history" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand history" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand history" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand history" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand history" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand rollback" -l team -d 'Work on this team\'s secrets instead of your own (a NAME given as TEAM:NAME wins)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand rollback" -l to -d 'The version whose value becomes current again (see `secretctl history NAME`)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand rollback" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand rollback" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand rollback" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand rollback" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand rollback" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand rollback" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand share" -l expires-in -d 'How long the link works: 60s to 7d (e.g. 30m, 1h, 2d, or seconds)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand share" -l max-views -d 'How many times the link can be opened (1-100)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand share" -l team -d 'Work on this team\'s secrets instead of your own (a NAME given as TEAM:NAME wins)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand share" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand share" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand share" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand share" -l passphrase -d 'Protect the link with a passphrase, prompted without echo (send it separately)'
complete -c secretctl -n "__fish_secretctl_using_subcommand share" -l passphrase-stdin -d 'Read the passphrase from the first line of stdin (implies --passphrase)'
complete -c secretctl -n "__fish_secretctl_using_subcommand share" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand share" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand share" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand open" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand open" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand open" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand open" -l passphrase-stdin -d 'Read the link\'s passphrase from the first line of stdin'
complete -c secretctl -n "__fish_secretctl_using_subcommand open" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand open" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand open" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand shares" -l team -d 'Work on this team\'s secrets instead of your own (a NAME given as TEAM:NAME wins)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand shares" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand shares" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand shares" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand shares" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand shares" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand shares" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand unshare" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand unshare" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand unshare" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand unshare" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand unshare" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand unshare" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand run" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand run" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand run" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand run" -l team -d 'Work on this team\'s secrets instead of your own (a NAME given as TEAM:NAME wins)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand run" -s e -l env -d 'Set variable VAR to the value of secret REF (NAME or TEAM:NAME); repeatable' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand run" -l prefix -d 'Add every secret whose name starts with P, one variable each (see below)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand run" -l file -d 'Write secret REF to a private file and set VAR to its path; repeatable' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand run" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand run" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand run" -l strip-prefix -d 'Leave the prefix out of the variable names'
complete -c secretctl -n "__fish_secretctl_using_subcommand run" -l override -d 'Replace variables that are already set in the environment'
complete -c secretctl -n "__fish_secretctl_using_subcommand run" -l mask -d 'Mask secret values in CMD\'s output even on a terminal'
complete -c secretctl -n "__fish_secretctl_using_subcommand run" -l no-masking -d 'Never mask CMD\'s output'
complete -c secretctl -n "__fish_secretctl_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c secretctl -n "__fish_secretctl_using_subcommand export" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand export" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand export" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand export" -l team -d 'Work on this team\'s secrets instead of your own (a NAME given as TEAM:NAME wins)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand export" -l prefix -d 'Also export every secret whose name starts with P' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand export" -l format -d 'Output format' -r -f -a "dotenv\t'VAR=\'value\' lines, quoted so any value reads back (python-dotenv)'
json\t'One JSON object, {"VAR": "value", ...}'
shell\t'export VAR=\'value\' lines, safe to `eval`'
github-env\t'Append to $GITHUB_ENV (multi-line safe) and print ::add-mask:: for every line'"
complete -c secretctl -n "__fish_secretctl_using_subcommand export" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand export" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand export" -l strip-prefix -d 'Leave the prefix out of the variable names'
complete -c secretctl -n "__fish_secretctl_using_subcommand export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c secretctl -n "__fish_secretctl_using_subcommand inject" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand inject" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand inject" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand inject" -l team -d 'Work on this team\'s secrets instead of your own (a NAME given as TEAM:NAME wins)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand inject" -s i -l input -d 'Template to read ("-" for stdin)' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand inject" -s o -l output -d 'Write the result to FILE instead of stdout' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand inject" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand inject" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand inject" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c secretctl -n "__fish_secretctl_using_subcommand audit; and not __fish_seen_subcommand_from verify help" -s n -l limit -d 'How many events to show (1-500)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand audit; and not __fish_seen_subcommand_from verify help" -l before -d 'Only events older than this sequence number (for paging)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand audit; and not __fish_seen_subcommand_from verify help" -l team -d 'The team\'s trail instead of yours: its secrets, links, members and tokens (team admins)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand audit; and not __fish_seen_subcommand_from verify help" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand audit; and not __fish_seen_subcommand_from verify help" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand audit; and not __fish_seen_subcommand_from verify help" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand audit; and not __fish_seen_subcommand_from verify help" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand audit; and not __fish_seen_subcommand_from verify help" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand audit; and not __fish_seen_subcommand_from verify help" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand audit; and not __fish_seen_subcommand_from verify help" -f -a "verify" -d 'Check a server\'s whole trail, offline, on the server host (stop the server first): every record\'s keyed link, and that the trail ends at its authenticated head. Needs the master key (the links are keyed). Prints the head as SEQ:HASH; exits 1 and names the first broken record. Reads the files only, never writes them'
complete -c secretctl -n "__fish_secretctl_using_subcommand audit; and not __fish_seen_subcommand_from verify help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c secretctl -n "__fish_secretctl_using_subcommand audit; and __fish_seen_subcommand_from verify" -l data-dir -d 'The server\'s data directory (holding the database)' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand audit; and __fish_seen_subcommand_from verify" -l key-file -d 'Master key file [default: DIR/master.key]' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand audit; and __fish_seen_subcommand_from verify" -l passphrase-file -d 'Read the key file\'s passphrase from FILE (a trailing newline is dropped)' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand audit; and __fish_seen_subcommand_from verify" -l expect -d 'Also require this record, as printed by an earlier verify (SEQ:HASH), to be in the trail: catches a whole database rolled back to an older copy' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand audit; and __fish_seen_subcommand_from verify" -l archive -d 'An archive made by `admin audit archive`; give every archive, oldest first, to check the trail end to end from its first record' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand audit; and __fish_seen_subcommand_from verify" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand audit; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand audit; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Check a server\'s whole trail, offline, on the server host (stop the server first): every record\'s keyed link, and that the trail ends at its authenticated head. Needs the master key (the links are keyed). Prints the head as SEQ:HASH; exits 1 and names the first broken record. Reads the files only, never writes them'
complete -c secretctl -n "__fish_secretctl_using_subcommand audit; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c secretctl -n "__fish_secretctl_using_subcommand completions" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and not __fish_seen_subcommand_from seal-key unseal-key rotate-master rotate-data-key backup verify-backup restore users sessions audit help" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and not __fish_seen_subcommand_from seal-key unseal-key rotate-master rotate-data-key backup verify-backup restore users sessions audit help" -f -a "seal-key" -d 'Encrypt a plain master key file with a passphrase (age scrypt, ASCII-armored)'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and not __fish_seen_subcommand_from seal-key unseal-key rotate-master rotate-data-key backup verify-backup restore users sessions audit help" -f -a "unseal-key" -d 'Decrypt a sealed master key file back to plain age-keygen format, in place'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and not __fish_seen_subcommand_from seal-key unseal-key rotate-master rotate-data-key backup verify-backup restore users sessions audit help" -f -a "rotate-master" -d 'Give the data keys a new master identity and replace the key file with it'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and not __fish_seen_subcommand_from seal-key unseal-key rotate-master rotate-data-key backup verify-backup restore users sessions audit help" -f -a "rotate-data-key" -d 'Add a new data key, re-seal every secret and pending share link under it in one transaction, and delete the old data key'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and not __fish_seen_subcommand_from seal-key unseal-key rotate-master rotate-data-key backup verify-backup restore users sessions audit help" -f -a "backup" -d 'Write a consistent snapshot of the database to a file, while the server runs or not'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and not __fish_seen_subcommand_from seal-key unseal-key rotate-master rotate-data-key backup verify-backup restore users sessions audit help" -f -a "verify-backup" -d 'Check a backup file on its own, read-only: every table against its manifest, schema version, audit trail links and head; with --key-file also the keyed audit chain and that the key opens it. Exit codes: 0 whole, 1 damaged or unreadable, 2 usage'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and not __fish_seen_subcommand_from seal-key unseal-key rotate-master rotate-data-key backup verify-backup restore users sessions audit help" -f -a "restore" -d 'Put a backup in place as DIR\'s database (server stopped), atomically, after checking that the key file opens it. Exit codes: 0 restored, 1 failed (nothing replaced), 2 usage, 5 DIR already holds a database and --force was not given'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and not __fish_seen_subcommand_from seal-key unseal-key rotate-master rotate-data-key backup verify-backup restore users sessions audit help" -f -a "users" -d 'Operator commands on accounts: list, disable, enable, reset a password'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and not __fish_seen_subcommand_from seal-key unseal-key rotate-master rotate-data-key backup verify-backup restore users sessions audit help" -f -a "sessions" -d 'Operator commands on sessions'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and not __fish_seen_subcommand_from seal-key unseal-key rotate-master rotate-data-key backup verify-backup restore users sessions audit help" -f -a "audit" -d 'Audit retention (on the server\'s files; stop it first)'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and not __fish_seen_subcommand_from seal-key unseal-key rotate-master rotate-data-key backup verify-backup restore users sessions audit help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from seal-key" -l key-file -d 'The master key file to rewrite in place' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from seal-key" -l passphrase-file -d 'Read the passphrase from FILE (a trailing newline is dropped)' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from seal-key" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from seal-key" -l insecure-fast-kdf -d 'TEST ONLY: cheap scrypt sealing so test suites run fast. Never for real keys'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from seal-key" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from unseal-key" -l key-file -d 'The master key file to rewrite in place' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from unseal-key" -l passphrase-file -d 'Read the passphrase from FILE (a trailing newline is dropped)' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from unseal-key" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from unseal-key" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from rotate-master" -l data-dir -d 'The server\'s data directory (holding the database)' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from rotate-master" -l key-file -d 'Master key file [default: DIR/master.key]' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from rotate-master" -l passphrase-file -d 'Read the key file\'s passphrase from FILE (a trailing newline is dropped)' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from rotate-master" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from rotate-master" -l insecure-fast-kdf -d 'TEST ONLY: cheap scrypt sealing of the new key so test suites run fast'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from rotate-master" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from rotate-data-key" -l data-dir -d 'The server\'s data directory (holding the database)' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from rotate-data-key" -l key-file -d 'Master key file [default: DIR/master.key]' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from rotate-data-key" -l passphrase-file -d 'Read the key file\'s passphrase from FILE (a trailing newline is dropped)' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from rotate-data-key" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from rotate-data-key" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from backup" -l data-dir -d 'The server\'s data directory' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from backup" -s o -l output -d 'Where to write the backup (replaced atomically; mode 0600)' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from backup" -l recipient -d 'Encrypt the backup to this age recipient (age1...), because backups travel' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from backup" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from backup" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from verify-backup" -l identity -d 'age identity file that decrypts a backup made with --recipient' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from verify-backup" -l key-file -d 'The master key file: also check the keyed audit chain and that the key opens the backup. Without it the chain\'s structure is checked, not its keyed links' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from verify-backup" -l passphrase-file -d 'Read the key file\'s passphrase from FILE (a trailing newline is dropped)' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from verify-backup" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from verify-backup" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from restore" -l identity -d 'age identity file that decrypts a backup made with --recipient' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from restore" -l data-dir -d 'The server\'s data directory (holding the database)' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from restore" -l key-file -d 'Master key file [default: DIR/master.key]' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from restore" -l passphrase-file -d 'Read the key file\'s passphrase from FILE (a trailing newline is dropped)' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from restore" -l force -d 'Replace the database DIR already holds'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from restore" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from restore" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from users" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from users" -f -a "ls" -d 'List every user: name, created, last login (newest live session), secrets, disabled. Exit codes: 0, 1 failed'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from users" -f -a "disable" -d 'Disable an account: its logins and tokens are refused at once (its sessions are revoked) and its share links stop working unless --keep-links. Exit codes: 0, 1 failed, 4 no such user'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from users" -f -a "enable" -d 'Enable a disabled account again (its links work again too). Exit codes: 0, 1 failed, 4 no such user'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from users" -f -a "reset-password" -d 'Replace an account\'s password with a one-time password, printed once on stdout, and revoke its sessions. Logging in with it answers 403 password_change_required until the account sets a new password (PUT /account/password); after 24 h it is dead. Exit codes: 0, 1 failed, 4 no such user'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from users" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from sessions" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from sessions" -f -a "revoke" -d 'Revoke every session of a user (their tokens are refused from the next request on). Exit codes: 0, 1 failed, 4 no such user'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from sessions" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from audit" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from audit" -f -a "archive" -d 'Move audit records older than DATE into a new archive file, and reclaim their space'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from audit" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "seal-key" -d 'Encrypt a plain master key file with a passphrase (age scrypt, ASCII-armored)'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "unseal-key" -d 'Decrypt a sealed master key file back to plain age-keygen format, in place'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "rotate-master" -d 'Give the data keys a new master identity and replace the key file with it'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "rotate-data-key" -d 'Add a new data key, re-seal every secret and pending share link under it in one transaction, and delete the old data key'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "backup" -d 'Write a consistent snapshot of the database to a file, while the server runs or not'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "verify-backup" -d 'Check a backup file on its own, read-only: every table against its manifest, schema version, audit trail links and head; with --key-file also the keyed audit chain and that the key opens it. Exit codes: 0 whole, 1 damaged or unreadable, 2 usage'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "restore" -d 'Put a backup in place as DIR\'s database (server stopped), atomically, after checking that the key file opens it. Exit codes: 0 restored, 1 failed (nothing replaced), 2 usage, 5 DIR already holds a database and --force was not given'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "users" -d 'Operator commands on accounts: list, disable, enable, reset a password'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "sessions" -d 'Operator commands on sessions'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "audit" -d 'Audit retention (on the server\'s files; stop it first)'
complete -c secretctl -n "__fish_secretctl_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and not __fish_seen_subcommand_from create ls members add remove delete help" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and not __fish_seen_subcommand_from create ls members add remove delete help" -f -a "create" -d 'Create a team (3-64 characters of a-z, 0-9, \'.\', \'_\', \'-\'); you become its admin'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and not __fish_seen_subcommand_from create ls members add remove delete help" -f -a "ls" -d 'List your teams and your role in each'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and not __fish_seen_subcommand_from create ls members add remove delete help" -f -a "members" -d 'List the members of --team and their roles'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and not __fish_seen_subcommand_from create ls members add remove delete help" -f -a "add" -d 'Add USER to --team, or change their role (team admins)'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and not __fish_seen_subcommand_from create ls members add remove delete help" -f -a "remove" -d 'Remove USER from --team (team admins; anyone may remove themselves)'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and not __fish_seen_subcommand_from create ls members add remove delete help" -f -a "delete" -d 'Delete --team with all its secrets, share links and tokens (team admins). Asks for the team\'s name to confirm unless --yes'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and not __fish_seen_subcommand_from create ls members add remove delete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from create" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from create" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from create" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from create" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from create" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from ls" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from ls" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from ls" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from ls" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from ls" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from members" -l team -d 'Work on this team\'s secrets instead of your own (a NAME given as TEAM:NAME wins)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from members" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from members" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from members" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from members" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from members" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from members" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from add" -l role -d 'reader (list and read), writer (+ create, update, delete, share), admin (+ members, team tokens, delete the team)' -r -f -a "reader\t''
writer\t''
admin\t''"
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from add" -l team -d 'Work on this team\'s secrets instead of your own (a NAME given as TEAM:NAME wins)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from add" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from add" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from add" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from add" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from add" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from remove" -l team -d 'Work on this team\'s secrets instead of your own (a NAME given as TEAM:NAME wins)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from remove" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from remove" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from remove" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from remove" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from remove" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from delete" -l team -d 'Work on this team\'s secrets instead of your own (a NAME given as TEAM:NAME wins)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from delete" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from delete" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from delete" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from delete" -l yes -d 'Do not ask for confirmation'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from delete" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from delete" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a team (3-64 characters of a-z, 0-9, \'.\', \'_\', \'-\'); you become its admin'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List your teams and your role in each'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from help" -f -a "members" -d 'List the members of --team and their roles'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add USER to --team, or change their role (team admins)'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove USER from --team (team admins; anyone may remove themselves)'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete --team with all its secrets, share links and tokens (team admins). Asks for the team\'s name to confirm unless --yes'
complete -c secretctl -n "__fish_secretctl_using_subcommand team; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and not __fish_seen_subcommand_from create ls rm help" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and not __fish_seen_subcommand_from create ls rm help" -f -a "create" -d 'Create a service token and print only the token on stdout (shown once)'
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and not __fish_seen_subcommand_from create ls rm help" -f -a "ls" -d 'List your service tokens (with --team, the team\'s; team admins)'
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and not __fish_seen_subcommand_from create ls rm help" -f -a "rm" -d 'Revoke a service token, by id or name, at once'
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and not __fish_seen_subcommand_from create ls rm help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and __fish_seen_subcommand_from create" -l team -d 'Work on this team\'s secrets instead of your own (a NAME given as TEAM:NAME wins)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and __fish_seen_subcommand_from create" -l prefix -d 'Only secrets whose names start with P (e.g. prod/)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and __fish_seen_subcommand_from create" -l expires-in -d 'Lifetime: 1m to 365d (e.g. 30d, 12h)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and __fish_seen_subcommand_from create" -l allow-cidr -d 'Only usable from this network (e.g. 10.0.0.0/8); repeatable' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and __fish_seen_subcommand_from create" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and __fish_seen_subcommand_from create" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and __fish_seen_subcommand_from create" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and __fish_seen_subcommand_from create" -l write -d 'Also create, update and delete secrets (read is always granted)'
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and __fish_seen_subcommand_from create" -l share -d 'Also make share links'
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and __fish_seen_subcommand_from create" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and __fish_seen_subcommand_from create" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and __fish_seen_subcommand_from ls" -l team -d 'Work on this team\'s secrets instead of your own (a NAME given as TEAM:NAME wins)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and __fish_seen_subcommand_from ls" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and __fish_seen_subcommand_from ls" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and __fish_seen_subcommand_from ls" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and __fish_seen_subcommand_from ls" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and __fish_seen_subcommand_from ls" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and __fish_seen_subcommand_from rm" -l team -d 'Work on this team\'s secrets instead of your own (a NAME given as TEAM:NAME wins)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and __fish_seen_subcommand_from rm" -l server -d 'Server to talk to' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and __fish_seen_subcommand_from rm" -l ca-cert -d 'Trust only this PEM CA certificate (or bundle) for https:// servers, instead of the built-in public roots; for a server with a private CA' -r -F
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and __fish_seen_subcommand_from rm" -l retry-for -d 'Keep retrying requests the server refuses for now (429, 503; honouring Retry-After) and reads that cannot connect, for up to this long (e.g. 30s, 2m; 0 turns retries off)' -r
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and __fish_seen_subcommand_from rm" -l json -d 'Print machine-readable JSON on stdout'
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and __fish_seen_subcommand_from rm" -s v -l verbose -d 'Say on stderr when a request is retried, and why'
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a service token and print only the token on stdout (shown once)'
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List your service tokens (with --team, the team\'s; team admins)'
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "rm" -d 'Revoke a service token, by id or name, at once'
complete -c secretctl -n "__fish_secretctl_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and not __fish_seen_subcommand_from serve register login logout account put get ls rm update history rollback share open shares unshare run export inject audit completions admin team token help" -f -a "serve" -d 'Run the server'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and not __fish_seen_subcommand_from serve register login logout account put get ls rm update history rollback share open shares unshare run export inject audit completions admin team token help" -f -a "register" -d 'Create an account (password prompted without echo, or --password-stdin)'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and not __fish_seen_subcommand_from serve register login logout account put get ls rm update history rollback share open shares unshare run export inject audit completions admin team token help" -f -a "login" -d 'Log in and cache the session token (0600) for this server'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and not __fish_seen_subcommand_from serve register login logout account put get ls rm update history rollback share open shares unshare run export inject audit completions admin team token help" -f -a "logout" -d 'Revoke the cached session and forget it'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and not __fish_seen_subcommand_from serve register login logout account put get ls rm update history rollback share open shares unshare run export inject audit completions admin team token help" -f -a "account" -d 'Your account: show it, set the alert email address, change the password, list and revoke sessions, delete it'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and not __fish_seen_subcommand_from serve register login logout account put get ls rm update history rollback share open shares unshare run export inject audit completions admin team token help" -f -a "put" -d 'Store a new secret; the value comes from --value, --from-file, or stdin'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and not __fish_seen_subcommand_from serve register login logout account put get ls rm update history rollback share open shares unshare run export inject audit completions admin team token help" -f -a "get" -d 'Print a secret\'s value exactly, byte for byte (--json for the full record); an older value with --version N'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and not __fish_seen_subcommand_from serve register login logout account put get ls rm update history rollback share open shares unshare run export inject audit completions admin team token help" -f -a "ls" -d 'List your secrets (never their values)'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and not __fish_seen_subcommand_from serve register login logout account put get ls rm update history rollback share open shares unshare run export inject audit completions admin team token help" -f -a "rm" -d 'Delete a secret'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and not __fish_seen_subcommand_from serve register login logout account put get ls rm update history rollback share open shares unshare run export inject audit completions admin team token help" -f -a "update" -d 'Change a secret\'s name, description, tags or value (a value piped on stdin alone replaces the value)'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and not __fish_seen_subcommand_from serve register login logout account put get ls rm update history rollback share open shares unshare run export inject audit completions admin team token help" -f -a "history" -d 'List a secret\'s kept versions: number, time, and who set each (never values)'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and not __fish_seen_subcommand_from serve register login logout account put get ls rm update history rollback share open shares unshare run export inject audit completions admin team token help" -f -a "rollback" -d 'Make an older version\'s value current again (as a new version; history is kept)'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and not __fish_seen_subcommand_from serve register login logout account put get ls rm update history rollback share open shares unshare run export inject audit completions admin team token help" -f -a "share" -d 'Share a secret through a one-time, expiring link; prints the URL alone'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and not __fish_seen_subcommand_from serve register login logout account put get ls rm update history rollback share open shares unshare run export inject audit completions admin team token help" -f -a "open" -d 'Redeem a share link (no login needed) and print the value exactly, like get'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and not __fish_seen_subcommand_from serve register login logout account put get ls rm update history rollback share open shares unshare run export inject audit completions admin team token help" -f -a "shares" -d 'List a secret\'s active share links (never their tokens)'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and not __fish_seen_subcommand_from serve register login logout account put get ls rm update history rollback share open shares unshare run export inject audit completions admin team token help" -f -a "unshare" -d 'Revoke a share link at once'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and not __fish_seen_subcommand_from serve register login logout account put get ls rm update history rollback share open shares unshare run export inject audit completions admin team token help" -f -a "run" -d 'Run a command with secrets in its environment (and optionally in files)'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and not __fish_seen_subcommand_from serve register login logout account put get ls rm update history rollback share open shares unshare run export inject audit completions admin team token help" -f -a "export" -d 'Print secrets as dotenv, JSON or shell, or hand them to GitHub Actions'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and not __fish_seen_subcommand_from serve register login logout account put get ls rm update history rollback share open shares unshare run export inject audit completions admin team token help" -f -a "inject" -d 'Fill `{{ sctl://REF }}` placeholders in a template with secret values'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and not __fish_seen_subcommand_from serve register login logout account put get ls rm update history rollback share open shares unshare run export inject audit completions admin team token help" -f -a "audit" -d 'Show your audit trail, newest first (`audit verify` checks a server\'s whole chain)'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and not __fish_seen_subcommand_from serve register login logout account put get ls rm update history rollback share open shares unshare run export inject audit completions admin team token help" -f -a "completions" -d 'Print a shell completion script'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and not __fish_seen_subcommand_from serve register login logout account put get ls rm update history rollback share open shares unshare run export inject audit completions admin team token help" -f -a "admin" -d 'Manage the master key file and rotate keys (on the server\'s files; stop it first)'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and not __fish_seen_subcommand_from serve register login logout account put get ls rm update history rollback share open shares unshare run export inject audit completions admin team token help" -f -a "team" -d 'Create teams and manage their members; a team owns secrets its members share'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and not __fish_seen_subcommand_from serve register login logout account put get ls rm update history rollback share open shares unshare run export inject audit completions admin team token help" -f -a "token" -d 'Create, list and revoke service tokens: scoped credentials for CI (SECRETCTL_TOKEN)'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and not __fish_seen_subcommand_from serve register login logout account put get ls rm update history rollback share open shares unshare run export inject audit completions admin team token help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and __fish_seen_subcommand_from account" -f -a "show" -d 'Show your account: id, username and alert email address'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and __fish_seen_subcommand_from account" -f -a "set-email" -d 'Set the address the server mails security alerts to ("" clears it); mail is only sent when the server runs with --alert-smtp'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and __fish_seen_subcommand_from account" -f -a "passwd" -d 'Change your password (current once, new twice, without echo); every other session of the account is revoked, this one stays'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and __fish_seen_subcommand_from account" -f -a "sessions" -d 'List your sessions (this one marked), or revoke them'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and __fish_seen_subcommand_from account" -f -a "delete" -d 'Delete your account with its secrets, share links and sessions (the password is asked again). Audit records stay; the username stays reserved'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and __fish_seen_subcommand_from audit" -f -a "verify" -d 'Check a server\'s whole trail, offline, on the server host (stop the server first): every record\'s keyed link, and that the trail ends at its authenticated head. Needs the master key (the links are keyed). Prints the head as SEQ:HASH; exits 1 and names the first broken record. Reads the files only, never writes them'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "seal-key" -d 'Encrypt a plain master key file with a passphrase (age scrypt, ASCII-armored)'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "unseal-key" -d 'Decrypt a sealed master key file back to plain age-keygen format, in place'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "rotate-master" -d 'Give the data keys a new master identity and replace the key file with it'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "rotate-data-key" -d 'Add a new data key, re-seal every secret and pending share link under it in one transaction, and delete the old data key'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "backup" -d 'Write a consistent snapshot of the database to a file, while the server runs or not'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "verify-backup" -d 'Check a backup file on its own, read-only: every table against its manifest, schema version, audit trail links and head; with --key-file also the keyed audit chain and that the key opens it. Exit codes: 0 whole, 1 damaged or unreadable, 2 usage'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "restore" -d 'Put a backup in place as DIR\'s database (server stopped), atomically, after checking that the key file opens it. Exit codes: 0 restored, 1 failed (nothing replaced), 2 usage, 5 DIR already holds a database and --force was not given'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "users" -d 'Operator commands on accounts: list, disable, enable, reset a password'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "sessions" -d 'Operator commands on sessions'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "audit" -d 'Audit retention (on the server\'s files; stop it first)'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and __fish_seen_subcommand_from team" -f -a "create" -d 'Create a team (3-64 characters of a-z, 0-9, \'.\', \'_\', \'-\'); you become its admin'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and __fish_seen_subcommand_from team" -f -a "ls" -d 'List your teams and your role in each'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and __fish_seen_subcommand_from team" -f -a "members" -d 'List the members of --team and their roles'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and __fish_seen_subcommand_from team" -f -a "add" -d 'Add USER to --team, or change their role (team admins)'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and __fish_seen_subcommand_from team" -f -a "remove" -d 'Remove USER from --team (team admins; anyone may remove themselves)'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and __fish_seen_subcommand_from team" -f -a "delete" -d 'Delete --team with all its secrets, share links and tokens (team admins). Asks for the team\'s name to confirm unless --yes'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and __fish_seen_subcommand_from token" -f -a "create" -d 'Create a service token and print only the token on stdout (shown once)'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and __fish_seen_subcommand_from token" -f -a "ls" -d 'List your service tokens (with --team, the team\'s; team admins)'
complete -c secretctl -n "__fish_secretctl_using_subcommand help; and __fish_seen_subcommand_from token" -f -a "rm" -d 'Revoke a service token, by id or name, at once'
