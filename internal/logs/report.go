package logs

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"text/tabwriter"

	"github.com/certgate/certgate/internal/substatus"
)

// Report is the summary of everything an Analyzer read.
type Report struct {
	Files []string `json:"files"`
	// TotalLines counts request lines (not directives), malformed included.
	TotalLines     int64 `json:"total_lines"`
	MalformedLines int64 `json:"malformed_lines"`
	// MatchedLines are the well-formed lines inside the filters: the ones
	// every summary below counts.
	MatchedLines     int64       `json:"matched_lines"`
	MalformedSamples []Malformed `json:"malformed_samples,omitempty"`
	// ByStatus is keyed "403.13" ("200" without a sub-status).
	ByStatus map[string]int64 `json:"by_status"`
	// ByStatusWin32 is keyed "403.13 2148081683", the code as logged.
	ByStatusWin32 map[string]int64 `json:"by_status_win32"`
	BySite        map[string]int64 `json:"by_site"`
	ByHost        map[string]int64 `json:"by_host"`
	// ByHour is keyed "2026-11-23 18:00" (UTC, as W3C logs are).
	ByHour map[string]int64 `json:"by_hour"`
	// Failures are the classes with status >= 400, most frequent first.
	Failures []Failure `json:"failures"`
}

// Failure is one failure class: a status.substatus and the Win32 code
// logged with it.
type Failure struct {
	Status string `json:"status"`
	// Win32 is sc-win32-status as logged, in decimal.
	Win32 string `json:"win32"`
	// Code names the code certgate decides with for this line (403.7 logged
	// with 5 is SEC_E_NO_CREDENTIALS), when it has a name.
	Code    string `json:"code,omitempty"`
	Count   int64  `json:"count"`
	Heading string `json:"heading"`
	Message string `json:"message,omitempty"`
	// Causes and NextSteps come from the catalogue (internal/substatus).
	Causes     []string         `json:"causes,omitempty"`
	NextSteps  []string         `json:"next_steps,omitempty"`
	TopClients []KeyCount       `json:"top_clients"`
	TopPaths   []KeyCount       `json:"top_paths"`
	ByHour     map[string]int64 `json:"by_hour"`
}

// KeyCount is one entry of a top list.
type KeyCount struct {
	Key   string `json:"key"`
	Count int64  `json:"count"`
}

// Report returns the summaries so far.
func (a *Analyzer) Report() *Report {
	r := &Report{
		Files:            append([]string{}, a.files...),
		TotalLines:       a.total,
		MalformedLines:   a.malformed,
		MatchedLines:     a.matched,
		MalformedSamples: a.samples,
		ByStatus:         map[string]int64{},
		ByStatusWin32:    map[string]int64{},
		BySite:           flatten(a.bySite),
		ByHost:           flatten(a.byHost),
		ByHour:           hours(a.byHour),
		Failures:         []Failure{},
	}
	for k, n := range a.byStatus {
		s := k.subStatus().String()
		r.ByStatus[s] += n
		r.ByStatusWin32[s+" "+strconv.FormatUint(uint64(k.win32), 10)] += n
	}
	for k, c := range a.classes {
		s := k.subStatus()
		adv := substatus.ForLog(s, substatus.Code(k.win32))
		f := Failure{
			Status:     s.String(),
			Win32:      strconv.FormatUint(uint64(k.win32), 10),
			Count:      c.count,
			Heading:    adv.Heading,
			Message:    adv.Message,
			Causes:     adv.Causes,
			NextSteps:  adv.NextSteps,
			TopClients: top(c.clients, a.opts.Top),
			TopPaths:   top(c.paths, a.opts.Top),
			ByHour:     hours(c.byHour),
		}
		if name := adv.Code.Name(); adv.Code != substatus.NoError && name != adv.Code.Hex() {
			f.Code = name
		}
		r.Failures = append(r.Failures, f)
	}
	slices.SortFunc(r.Failures, func(x, y Failure) int {
		if c := cmp.Compare(y.Count, x.Count); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(x.Status, y.Status), cmp.Compare(x.Win32, y.Win32))
	})
	return r
}

func (k statusKey) subStatus() substatus.Sub {
	return substatus.Sub{Status: int(k.status), Sub: int(k.sub)}
}

func flatten(m map[string]*int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, p := range m {
		out[k] = *p
	}
	return out
}

// hourKey renders yyyymmddhh as "2026-11-23 18:00".
func hourKey(h int64) string {
	return fmt.Sprintf("%04d-%02d-%02d %02d:00", h/1e6, h/1e4%100, h/100%100, h%100)
}

func hours(m map[int64]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for h, n := range m {
		out[hourKey(h)] = n
	}
	return out
}

// top returns the n largest counts, ties by key.
func top(m map[string]*int64, n int) []KeyCount {
	out := make([]KeyCount, 0, len(m))
	for k, p := range m {
		out = append(out, KeyCount{k, *p})
	}
	slices.SortFunc(out, func(x, y KeyCount) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), cmp.Compare(x.Key, y.Key))
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// sortedKeys returns m's keys by descending count, ties by key.
func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y string) int { return cmp.Or(cmp.Compare(m[y], m[x]), cmp.Compare(x, y)) })
	return keys
}

// WriteText renders r as tables for people.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format+"\n", args...) }
	p("Files:\t%d", len(r.Files))
	p("Request lines:\t%d", r.TotalLines)
	p("Malformed lines:\t%d", r.MalformedLines)
	p("Counted (inside filters):\t%d", r.MatchedLines)
	for _, m := range r.MalformedSamples {
		p("  malformed:\t%s:%d: %s", m.File, m.Line, m.Reason)
	}
	table := func(title string, m map[string]int64, byKey bool) {
		if len(m) == 0 {
			return
		}
		p("")
		p("%s", title)
		keys := sortedKeys(m)
		if byKey {
			slices.Sort(keys)
		}
		for _, k := range keys {
			p("  %s\t%d", k, m[k])
		}
	}
	table("By status:", r.ByStatus, false)
	table("By status and Win32 code:", r.ByStatusWin32, false)
	table("By site (s-sitename):", r.BySite, false)
	table("By host (cs-host):", r.ByHost, false)
	table("By hour (UTC):", r.ByHour, true)
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, f := range r.Failures {
		code := f.Win32
		if f.Code != "" {
			code += " " + f.Code
		}
		p("")
		p("%s  sc-win32-status %s: %d requests", f.Status, code, f.Count)
		p("  %s", f.Heading)
		if f.Message != "" {
			p("  %s", f.Message)
		}
		if len(f.Causes) > 0 {
			p("  Likely causes, most frequent first:")
			for i, c := range f.Causes {
				p("    %d. %s", i+1, c)
			}
		}
		if len(f.NextSteps) > 0 {
			p("  Next:")
			for _, s := range f.NextSteps {
				p("    %s", s)
			}
		}
		for _, l := range []struct {
			name string
			kc   []KeyCount
		}{{"Top client IPs", f.TopClients}, {"Top paths", f.TopPaths}} {
			if len(l.kc) == 0 {
				continue
			}
			p("  %s:", l.name)
			for _, kc := range l.kc {
				p("    %s\t%d", kc.Key, kc.Count)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return tw.Flush()
}
