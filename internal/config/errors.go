package config

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors; match them with errors.Is. Messages wrap them with the
// file, line and field concerned.
var (
	// ErrSyntax is returned for text that is not valid YAML.
	ErrSyntax = errors.New("invalid YAML")
	// ErrEmpty is returned for a file with no settings at all.
	ErrEmpty = errors.New("empty config")
	// ErrMultipleDocuments is returned when the file holds more than one
	// YAML document: certgate reads exactly one, and silently ignoring the
	// rest would hide settings the operator thinks are in force.
	ErrMultipleDocuments = errors.New("more than one YAML document")
	// ErrUnknownField is returned for a key the schema does not have
	// (usually a typo, which must not silently fall back to a default).
	ErrUnknownField = errors.New("unknown field")
	// ErrDuplicateKey is returned when a mapping repeats a key.
	ErrDuplicateKey = errors.New("duplicate key")
	// ErrNoSites is returned when the config defines no site.
	ErrNoSites = errors.New("no sites")
)

// FieldError is a problem with one field of a config file. Every error
// from Load, Parse, Validate and FieldErr is a *FieldError or an
// errors.Join of them.
type FieldError struct {
	File string // the config file as named by the caller; may be empty
	Line int    // 1-based line in File; 0 when unknown (a defaulted field)
	Path string // field path such as sites[1].client_auth.trust.roots; empty for file-level problems
	Err  error
}

// Error reads "certgate.yaml:9: sites[1].client_auth.trust.roots: open ca.pem:
// no such file or directory", the file:line: form editors and CI annotate.
func (e *FieldError) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		b.WriteString(e.File + ":" + strconv.Itoa(e.Line) + ": ")
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		b.WriteString("line " + strconv.Itoa(e.Line) + ": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("invalid")
	}
	return b.String()
}

// Unwrap returns the cause, so errors.Is(err, fs.ErrNotExist) works through
// a FieldError.
func (e *FieldError) Unwrap() error { return e.Err }
