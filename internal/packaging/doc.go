// Package packaging is the DC/OS Universe package and the Marathon app of
// arangomesos, as code: it loads universe/ (package.json, config.json,
// resource.json, marathon.json.mustache), merges a user's options over
// config.json's defaults and renders the template as `dcos package install
// --options` does, checks what it reads and writes (duplicate keys, ASCII,
// JSON schemas, and the scheduler's own flag parsing and validation of the
// resulting environment), and talks to Marathon to deploy the app and to
// remove it after the scheduler's POST /v1/uninstall.
//
// `arangomesos package render|deploy|remove` (cmd/arangomesos/cmd_package.go)
// and the scripts in scripts/ are thin wrappers around it.
package packaging
