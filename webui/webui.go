// Package webui holds the web UI's static files, embedded into the binary.
// The scheduler serves them at /; the pages use only relative URLs, so they
// work under a path prefix such as DC/OS's /service/<name>/, and fetch
// nothing from the internet.
package webui

import (
	"embed"
	"io/fs"
)

//go:embed static
var files embed.FS

// FS returns the UI's files, index.html at the root.
func FS() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embedded directory always exists
	}
	return sub
}
