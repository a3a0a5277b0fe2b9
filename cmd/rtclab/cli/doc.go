// Package cli is rtclab's command line: one file per subcommand, each
// built on cobra, all taking an injected Env (stdout, stderr, the
// virtual-time bubble, the interrupt flag) so that whole runs are tested
// in-process. Exit codes are typed: ExitPass, ExitFail, ExitUsage.
package cli
