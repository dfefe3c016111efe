// Package pattern holds the two small languages of a mapping rule: glob
// patterns that match certificate fields, and user-name templates that build a
// user from subject attributes.
//
// It is a leaf package so that internal/config can validate patterns with
// exactly the code internal/mapping later matches them with: a pattern that
// passes `certgate check` is the pattern the gateway runs.
//
// Glob syntax (documented in docs/config.md):
//
//	a*       "*" is any run of characters, including none; unlike
//	         path.Match it also crosses "/" and ".", so "*@example.com"
//	         and "spiffe://example.org/*" work as an admin expects
//	user?    "?" is exactly one character
//	[a-c]x   a class: one of a, b, c; negation [!a-c] or [^a-c]
//	a\*      a backslash makes the next character literal (\*, \?, \[, \\)
//
// Matching works on Unicode characters, not bytes, and runs in
// O(len(pattern)*len(value)) time whatever the pattern: a hostile certificate
// cannot make a rule expensive.
package pattern
