import LatchkeyClient

#if canImport(Glibc)
    import Glibc
#endif

/// Reading answers from the person: without echo on a terminal for secrets, or one line from
/// standard input when there is no terminal (scripts, tests).
enum Terminal {
    static func readAnswer(prompt: String, echo: Bool) -> String? {
        let interactive = isatty(0) != 0
        printError(prompt, terminator: interactive ? "" : "\n")
        var saved = termios()
        let hide = interactive && !echo && tcgetattr(0, &saved) == 0
        if hide {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(0, TCSAFLUSH, &quiet)
        }
        defer {
            if hide {
                tcsetattr(0, TCSAFLUSH, &saved)
                printError("")
            }
        }
        return readLine(strippingNewline: true)
    }
}
