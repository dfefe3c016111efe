package substatus

import "testing"

func TestParseEvent(t *testing.T) {
	for _, in := range []string{"36885", "event 36885", "Event:36885", " 36885 "} {
		e, ok := ParseEvent(in)
		if !ok || e.ID != 36885 || e.Related != CertRequired || len(e.Causes) == 0 || len(e.NextSteps) == 0 {
			t.Errorf("ParseEvent(%q) = %+v, %v; want the catalogued 36885 entry", in, e, ok)
		}
	}
	for _, in := range []string{"36886", "403.7", "event", ""} {
		if _, ok := ParseEvent(in); ok {
			t.Errorf("ParseEvent(%q) found an entry, want none", in)
		}
	}
	if got := Events(); len(got) == 0 || got[0].ID != 36885 {
		t.Errorf("Events() = %+v", got)
	}
}

func TestCodeDetails(t *testing.T) {
	// A code with its own details uses them.
	if d := CertEChaining.Details(); len(d.Causes) == 0 || d.Causes[0] == Must(CertUntrusted).Causes[0] {
		t.Errorf("CERT_E_CHAINING details = %+v, want its own causes", d)
	}
	// Others fall back to their sub-status.
	if d := CertEPathLenConst.Details(); len(d.Causes) == 0 || d.Causes[0] != Must(CertUntrusted).Causes[0] {
		t.Errorf("CERT_E_PATHLENCONST details = %+v, want the 403.16 causes", d)
	}
	if d := Code(0x12345678).Details(); len(d.Causes) != 0 {
		t.Errorf("unknown code has details %+v", d)
	}
	// Every code with details must exist in the catalogue.
	for c := range codeDetails {
		if _, ok := c.Info(); !ok {
			t.Errorf("details for uncatalogued code %s", c.Hex())
		}
	}
}

func TestCodeSigned(t *testing.T) {
	if got := CertEUntrustedRoot.Signed(); got != "-2146762487" {
		t.Errorf("Signed() = %s, want -2146762487", got)
	}
	c, err := ParseCode(CertEUntrustedRoot.Signed())
	if err != nil || c != CertEUntrustedRoot {
		t.Errorf("ParseCode(Signed()) = %v, %v", c, err)
	}
}

func TestCodesFor(t *testing.T) {
	for _, i := range CodesFor(CertRevoked) {
		if i.Sub != CertRevoked {
			t.Errorf("CodesFor(403.13) includes %s mapped to %s", i.Name, i.Sub)
		}
	}
	if len(CodesFor(CertRevoked)) < 3 {
		t.Errorf("CodesFor(403.13) = %d codes, want the revocation codes", len(CodesFor(CertRevoked)))
	}
}
