// Package config reads, defaults and validates certgate.yaml.
//
// The same three steps run at startup, on reload and in `certgate check`:
//
//  1. decode: strict YAML (unknown keys, duplicate keys, wrong types and
//     extra documents are errors), recording the line of every field so
//     that later errors can point at it;
//  2. ApplyDefaults: every default lives in defaults.go and nowhere else,
//     and relative paths are resolved against the config file's directory;
//  3. Validate: each struct checks itself and all problems are reported
//     together, each as a *FieldError naming file, line and field path.
//
// A problem reads like a compiler diagnostic:
//
//	certgate.yaml:14: sites[1].locations[0].client_cert: must be one of ignore, accept, require (got "requir")
//
// Packages that load what the config points at (PEM files, CRLs) report
// their failures through (*Config).FieldErr so they read the same way.
//
// docs/config.md is the reference for every key.
package config
