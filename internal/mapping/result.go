package mapping

import (
	"fmt"
	"strings"

	"github.com/certgate/certgate/internal/substatus"
)

// Result is what Map found for a certificate.
type Result struct {
	// Matched is true when a rule decided: mapped to User, or Denied.
	Matched bool `json:"matched"`
	// User is the mapped user name; empty when unmapped or denied.
	User string `json:"user,omitempty"`
	// Groups are the mapped groups (the rule's groups:). The slice is
	// shared with the Mapper, which saves a copy per request: do not
	// modify its elements (appending is safe, it copies).
	Groups []string `json:"groups,omitempty"`
	// Denied is true when a deny rule matched.
	Denied bool `json:"denied"`
	// Rule names the deciding rule: "one_to_one[0]", "many_to_one[2] (name)",
	// RuleUPN, or RuleNone.
	Rule string `json:"rule"`
	// Unavailable: the directory could not be asked, so nothing can be
	// said about the account; Decide refuses (fail closed) with
	// SEC_E_NO_AUTHENTICATING_AUTHORITY.
	Unavailable bool `json:"unavailable,omitempty"`
	// Weak: the directory found the account by a weak (KB5014754) method.
	Weak bool `json:"weak,omitempty"`
	// Stale: the directory's answer came from its cache past the TTL,
	// because the directory is unavailable (stale_if_error).
	Stale bool `json:"stale,omitempty"`
	// Reason says why, naming the certificate field and pattern involved.
	// It may name users and certificate fields, so it is shown to remote
	// clients only with detailed errors.
	Reason string `json:"reason"`
}

// Mapped reports whether the certificate maps to a user (and was not denied).
func (r Result) Mapped() bool { return r.Matched && !r.Denied && r.User != "" }

// String renders "alice [staff admins] by many_to_one[1] (staff)".
func (r Result) String() string {
	switch {
	case r.Unavailable:
		return "directory unavailable (" + r.Rule + ")"
	case r.Denied:
		return "denied by " + r.Rule
	case !r.Matched:
		return "unmapped (" + r.Rule + ")"
	}
	s := r.User
	if len(r.Groups) > 0 {
		s += " [" + strings.Join(r.Groups, " ") + "]"
	}
	return s + " by " + r.Rule
}

// Denial is a typed mapping refusal: the sub-status and Win32-style code
// come from the substatus catalogue, Rule and Reason are the detail for the
// log line and the detailed error page.
type Denial struct {
	Sub  substatus.Sub
	Code substatus.Code
	// Rule is the deciding rule (or RuleNone), or the location for 403.100.
	Rule string
	// Reason is one sentence an operator can act on.
	Reason string
}

// Error renders "403.12 SEC_E_LOGON_DENIED (0x8009030C): many_to_one[3] (contractors): deny rule matched: ...".
func (d *Denial) Error() string {
	return fmt.Sprintf("%s %s: %s: %s", d.Sub, d.Code, d.Rule, d.Reason)
}

// Decide applies the mapping policy to r: nil lets the request continue
// (mapped, or unmapped with mapping not required); otherwise a 403.12
// (substatus.MapperDenied, SEC_E_LOGON_DENIED) Denial. A deny rule refuses
// even when mapping is not required (see Options).
func (m *Mapper) Decide(r Result) *Denial {
	switch {
	case r.Unavailable:
		// Whatever required says: an account that may be disabled, or
		// mapped to someone else, cannot be let through on a guess.
		return &Denial{Sub: substatus.MapperDenied, Code: substatus.SecENoAuthenticatingAuthority, Rule: r.Rule, Reason: r.Reason}
	case r.Denied:
		return &Denial{Sub: substatus.MapperDenied, Code: substatus.SecELogonDenied, Rule: r.Rule, Reason: r.Reason}
	case !r.Matched && m.required:
		return &Denial{Sub: substatus.MapperDenied, Code: substatus.SecELogonDenied, Rule: RuleNone,
			Reason: "mapping is required and no rule maps the certificate: " + r.Reason}
	}
	return nil
}

// Allowed reports whether user (with groups) may use a location that lists
// allowUsers and allowGroups. Both empty means anyone, mapped or not.
// Otherwise the user must be listed, or be in a listed group; an unmapped
// request (user "") is never allowed. Names compare case-insensitively, as
// Windows account and group names do.
func Allowed(user string, groups []string, allowUsers, allowGroups []string) bool {
	if len(allowUsers) == 0 && len(allowGroups) == 0 {
		return true
	}
	if user == "" {
		return false
	}
	for _, u := range allowUsers {
		if strings.EqualFold(u, user) {
			return true
		}
	}
	for _, g := range groups {
		for _, a := range allowGroups {
			if strings.EqualFold(a, g) {
				return true
			}
		}
	}
	return false
}

// Authorize is Allowed as a typed decision for the location at path: nil,
// or a 403.100 (substatus.UserNotAllowedHere, E_ACCESSDENIED) Denial whose
// reason names the user and what the location allows.
func Authorize(r Result, path string, allowUsers, allowGroups []string) *Denial {
	if Allowed(r.User, r.Groups, allowUsers, allowGroups) {
		return nil
	}
	var allow []string
	if len(allowUsers) > 0 {
		allow = append(allow, "allow_users: "+strings.Join(allowUsers, ", "))
	}
	if len(allowGroups) > 0 {
		allow = append(allow, "allow_groups: "+strings.Join(allowGroups, ", "))
	}
	d := &Denial{Sub: substatus.UserNotAllowedHere, Code: substatus.ErrorAccessDenied, Rule: fmt.Sprintf("location %q", path)}
	if r.User == "" {
		d.Reason = fmt.Sprintf("location %q admits only listed users or groups (%s) and the request has no mapped user (%s)",
			path, strings.Join(allow, "; "), r.Rule)
		return d
	}
	who := fmt.Sprintf("user %q", r.User)
	if len(r.Groups) > 0 {
		who += fmt.Sprintf(" (groups %s)", strings.Join(r.Groups, ", "))
	} else {
		who += " (no groups)"
	}
	d.Reason = fmt.Sprintf("%s, mapped by %s, is not admitted by location %q (%s)", who, r.Rule, path, strings.Join(allow, "; "))
	return d
}
