package mapping

import (
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/certgate/certgate/internal/directory"
)

// directoryResult asks the directory about chain's leaf. decided is true
// when its answer ends evaluation: an account found (mapped, or refused
// for its state), a refusal (two accounts, a SID naming another account),
// or the directory unavailable (fail closed). "No account" lets UPN
// mapping run.
func (m *Mapper) directoryResult(chain []*x509.Certificate, trace bool) (r Result, steps []Step, decided bool) {
	ntauth := len(chain) > 1 && chain[1] != nil && m.upnIssuers.has(chain[1])
	dr, err := m.dir.Lookup(chain, directory.Input{NTAuth: ntauth}, trace)
	if trace {
		for _, t := range dr.Tries {
			kind := "weak"
			if t.Strong {
				kind = "strong"
			}
			detail := fmt.Sprintf("%s (%s): %s", t.Method, kind, t.Detail)
			if t.Filter != "" {
				detail = fmt.Sprintf("%s (%s) filter %s: %s", t.Method, kind, t.Filter, t.Detail)
			}
			steps = append(steps, Step{Rule: RuleDirectory, Matched: t.Found != "", Detail: detail})
		}
	}
	label := RuleDirectory
	if err != nil {
		r = Result{Rule: label, Unavailable: true, Reason: fmt.Sprintf("the directory %s could not be asked, so the account cannot be checked: %v", m.dir.URL(), err)}
		if trace {
			steps = append(steps, Step{Rule: RuleDirectory, Detail: "unavailable: " + err.Error()})
		}
		return r, steps, true
	}
	if dr.Found {
		label = fmt.Sprintf("%s (%s, %s)", RuleDirectory, dr.Method, strength(dr.Strong))
	}
	switch {
	case dr.Refused != "":
		return Result{Matched: true, Denied: true, Rule: label, Reason: dr.Refused}, steps, true
	case !dr.Found:
		return Result{Rule: label, Reason: dr.Reason}, steps, false
	case dr.State != "":
		return Result{Matched: true, Denied: true, Rule: label,
			Reason: fmt.Sprintf("account %s (%s) is %s", dr.User, dr.DN, dr.State)}, steps, true
	}
	if err := CheckUserName(dr.User); err != nil {
		return Result{Matched: true, Denied: true, Rule: label, Reason: fmt.Sprintf("account %s has a name that cannot be forwarded: %v", dr.DN, err)}, steps, true
	}
	groups := make([]string, 0, len(dr.Groups))
	for _, g := range dr.Groups {
		// A group name that could not travel in the groups header is left
		// out rather than forwarded mangled.
		if CheckGroupName(g) == nil {
			groups = append(groups, g)
		}
	}
	why := dr.Reason
	if len(groups) > 0 {
		why += "; groups " + strings.Join(groups, ", ")
	}
	return Result{Matched: true, User: dr.User, Groups: groups, Rule: label, Reason: why, Weak: !dr.Strong, Stale: dr.Stale}, steps, true
}

func strength(strong bool) string {
	if strong {
		return "strong"
	}
	return "weak"
}

// Close releases the directory's idle connections (a reload retires the
// old Mapper); lookups still work.
func (m *Mapper) Close() {
	if c, ok := m.dir.(interface{ Close() error }); ok {
		_ = c.Close()
	}
}

// DirectoryStats returns the directory's counters, ok false without a
// directory.
func (m *Mapper) DirectoryStats() (directory.Stats, bool) {
	if s, ok := m.dir.(interface{ Stats() directory.Stats }); ok {
		return s.Stats(), true
	}
	return directory.Stats{}, false
}
