"""Issue 21: account names for shell completion (`latchkey ---completion …`, as the scripts of
`latchkey --generate-completion-script` call it): from a running daemon, else from the
configuration; never starting a daemon; never hanging the shell on a daemon that does not answer."""

import os
import socket
import subprocess

from test_latchkey_device_flow import start_with_account

def complete(latchkey, word, timeout=30):
    """Tab after `latchkey token WORD`: the word's index and the cursor at its end."""
    return latchkey.run("---completion", "token", "--", "positional@0", "2", str(len(word)),
                        "latchkey", "token", word, timeout=timeout)


def test_names_come_from_the_config_without_starting_a_daemon(latchkey, provider):
    latchkey.write_config(latchkey.oauth_account("work", provider.url, provider.ca)
                          + latchkey.oauth_account("lab", provider.url, provider.ca))
    done = complete(latchkey, "")
    assert done.returncode == 0 and done.stdout.split() == ["lab", "work"], done
    assert complete(latchkey, "w").stdout.split() == ["work"]
    assert not os.path.exists(latchkey.socket), "completing started a daemon"


def test_names_come_from_the_running_daemon(latchkey, provider):
    start_with_account(latchkey, provider)
    latchkey.write_config("")  # the daemon's accounts, not the file's, are offered
    done = complete(latchkey, "")
    assert done.returncode == 0 and done.stdout.split() == ["work"], done


def test_a_daemon_that_never_answers_does_not_hang_the_shell(latchkey, provider):
    latchkey.write_config(latchkey.oauth_account("work", provider.url, provider.ca))
    os.makedirs(os.path.dirname(latchkey.socket), mode=0o700, exist_ok=True)
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.bind(latchkey.socket)
    silent.listen(8)
    try:
        # Ends by itself (subprocess's timeout would raise), printing nothing.
        done = complete(latchkey, "", timeout=20)
        assert done.stdout == ""
    finally:
        silent.close()
