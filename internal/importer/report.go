package importer

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// Kind says what happened to a source setting.
type Kind string

const (
	// NotTranslated: certgate has no equivalent; the setting is not in
	// the output.
	NotTranslated Kind = "not_translated"
	// Stricter: translated to a stricter behaviour than the source had,
	// because the exact one cannot be expressed.
	Stricter Kind = "stricter"
	// Differs: translated, but certgate behaves differently in a way the
	// admin should know.
	Differs Kind = "differs"
	// Todo: the output needs the admin to complete it (export a
	// certificate, fill in a placeholder, add a key not yet supported).
	Todo Kind = "todo"
)

// Item is one report entry: a source setting and what became of it.
type Item struct {
	Kind Kind `json:"kind"`
	// Security marks settings that decide who gets in; they are never
	// dropped without an entry.
	Security bool   `json:"security"`
	File     string `json:"file"`
	Line     int    `json:"line,omitempty"`
	Site     string `json:"site,omitempty"`
	// Setting is the source setting as written there.
	Setting string `json:"setting"`
	Reason  string `json:"reason"`
	// Action is what the admin should do, if anything.
	Action string `json:"action,omitempty"`
}

// Report lists every setting that was not translated as written.
type Report struct {
	// Source is the main input file; Output the certgate.yaml written.
	Source string `json:"source"`
	Output string `json:"output,omitempty"`
	// Sites are the names of the sites translated.
	Sites []string `json:"sites"`
	Items []Item   `json:"items"`
}

func (r *Report) add(it Item) { r.Items = append(r.Items, it) }

// SecurityItems counts the entries marked Security.
func (r *Report) SecurityItems() int {
	n := 0
	for _, it := range r.Items {
		if it.Security {
			n++
		}
	}
	return n
}

// WriteText writes the report as compiler-style lines, one per entry,
// followed by the action to take:
//
//	applicationHost.config:42: [security, stricter] site Intranet: compareCaseSensitive="false": ...
//	    do: ...
func (r *Report) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "certgate import: %d site(s) translated from %s", len(r.Sites), r.Source)
	if r.Output != "" {
		fmt.Fprintf(ew, " to %s", r.Output)
	}
	fmt.Fprintf(ew, "; %d setting(s) not translated as written (%d security-relevant)\n", len(r.Items), r.SecurityItems())
	for _, it := range r.Items {
		loc := it.File
		if it.Line > 0 {
			loc += ":" + strconv.Itoa(it.Line)
		}
		tag := string(it.Kind)
		if it.Security {
			tag = "security, " + tag
		}
		site := ""
		if it.Site != "" {
			site = "site " + it.Site + ": "
		}
		fmt.Fprintf(ew, "%s: [%s] %s%s: %s\n", loc, tag, site, it.Setting, it.Reason)
		if it.Action != "" {
			fmt.Fprintf(ew, "    do: %s\n", it.Action)
		}
	}
	return ew.err
}

// WriteJSON writes the report as indented JSON (--report-json).
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
