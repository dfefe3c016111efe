package substatus

import (
	"sort"
	"strconv"
	"strings"
)

// Event describes a Windows event-log entry that admins bring to certgate
// when they migrate from IIS/Schannel, and what certgate does about it.
type Event struct {
	ID     int
	Source string // event source as Event Viewer shows it
	Level  string // Error | Warning | Information
	// Message is the event text (abridged to the part that matters).
	Message string
	// Meaning says in one paragraph what happened on the wire.
	Meaning string
	// Causes are the likely causes, most frequent first.
	Causes []string
	// NextSteps are commands or checks for the operator.
	NextSteps []string
	// Related is the sub-status clients typically end up with.
	Related Sub
}

var events = map[int]Event{
	36885: {
		ID: 36885, Source: "Schannel", Level: "Warning",
		Message: "When asking for client authentication, this server sends a list of trusted certificate authorities to the client. The server uses this list to determine which client certificates are trusted. Currently, this server trusts so many certificate authorities that the list has grown too long. This list has thus been truncated.",
		Meaning: "The CertificateRequest's list of acceptable CA names (the CTL / issuer list) exceeded Schannel's limit (about 12 KB of encoded names), so the CAs at the end of the list were not sent. Browsers that filter by that list (Chromium, Firefox) no longer offer certificates issued under the dropped CAs, and the request ends as 403.7.",
		Causes: []string{
			"The issuer list defaults to every root in the trust store (IIS SendTrustedIssuerList, or the whole Windows Trusted Root store), which holds hundreds of public roots.",
			"A configured CTL was appended to the root list instead of replacing it (an IIS behaviour certgate avoids), so the combined list is too long.",
			"Many intermediate CAs were placed among the trusted roots (see KB 2802568), each adding its name to the list.",
		},
		NextSteps: []string{
			"certgate lint --roots ROOTS.pem (encoded size of the list and which CAs Schannel would drop)",
			"certgate probe https://HOST/ (what the server really sends, count and bytes)",
			"In certgate, send only the CAs that issue client certificates: client_auth.issuer_list.source",
		},
		Related: CertRequired,
	},
}

// LookupEvent returns the catalogue entry for a Windows event ID.
func LookupEvent(id int) (Event, bool) {
	e, ok := events[id]
	return e, ok
}

// ParseEvent accepts "36885" or "event 36885" / "event:36885".
func ParseEvent(text string) (Event, bool) {
	t := strings.TrimSpace(strings.ToLower(text))
	t = strings.TrimPrefix(t, "event")
	t = strings.TrimLeft(t, " :#")
	id, err := strconv.Atoi(t)
	if err != nil {
		return Event{}, false
	}
	return LookupEvent(id)
}

// Events lists every catalogued event in ID order.
func Events() []Event {
	out := make([]Event, 0, len(events))
	for _, e := range events {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
