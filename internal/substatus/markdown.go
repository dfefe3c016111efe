package substatus

import (
	"fmt"
	"strings"
)

// Markdown renders the catalogue for docs/errors.md, so the documentation
// cannot drift from what the gateway and `certgate explain` say.
func Markdown() string {
	var b strings.Builder
	b.WriteString("## Sub-statuses\n\n| status | title | what the client can do |\n|---|---|---|\n")
	for _, s := range Subs() {
		e := entries[s]
		fmt.Fprintf(&b, "| %s | %s | %s |\n", s, e.Title, e.ClientAdvice)
	}
	for _, s := range Subs() {
		e := entries[s]
		if len(e.Causes) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n### %s\n\n", e.Heading())
		b.WriteString("Likely causes, most frequent first:\n\n")
		for i, c := range e.Causes {
			fmt.Fprintf(&b, "%d. %s\n", i+1, c)
		}
		if len(e.NextSteps) > 0 {
			b.WriteString("\nNext steps:\n\n")
			for _, n := range e.NextSteps {
				fmt.Fprintf(&b, "- `%s`\n", n)
			}
		}
	}
	b.WriteString("\n## Win32-style codes (sc-win32-status)\n\n| name | hex | decimal (as IIS logs it) | sub-status | meaning |\n|---|---|---|---|---|\n")
	for _, c := range Codes() {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", c.Name, c.Code.Hex(), c.Code.Decimal(), c.Sub, c.Message)
	}
	return b.String()
}
