// Package cli is the command-line plumbing of the arangomesos binary: the
// registry of subcommands, help and version output, flag parsing with
// ARANGOMESOS_<FLAG> environment fallbacks, and the mapping of errors to exit
// codes. It holds no logic of any subcommand; each subcommand's file in
// cmd/arangomesos parses its flags into its package's Config and calls Run.
package cli
