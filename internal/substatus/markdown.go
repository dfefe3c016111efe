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
	b.WriteString("\n## Win32-style codes (sc-win32-status)\n\n| name | hex | decimal | sub-status | meaning |\n|---|---|---|---|---|\n")
	for _, c := range Codes() {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", c.Name, c.Code.Hex(), c.Code.Decimal(), c.Sub, c.Message)
	}
	b.WriteString("\n## What sc-win32-status holds\n\nThe W3C access log writes what IIS writes for the same outcome; the event log, the 403 page and the problem JSON keep the code certgate decided with. Where the two differ (IIS logs a refused request without a client certificate as `403 7 5`; for 403.13, 403.16 and 403.17 it logs the chain engine's HRESULT, as KB 2802568 shows with `2148204809`, and so does certgate):\n\n| code decided with | sc-win32-status (as IIS logs it) | sub-status |\n|---|---|---|\n")
	for _, c := range W3CDifferences() {
		w := c.Code.W3C()
		fmt.Fprintf(&b, "| %s (%s) | %s (%s) | %s |\n", c.Name, c.Code.Decimal(), w.Decimal(), w.Name(), c.Sub)
	}
	return b.String()
}
