package revocation

import (
	"context"
	"testing"
)

// TestPacedParseSameCRL: pacing changes when the work runs, never the
// result. A 20,000-entry CRL is walked with 39 paced yields; the paced and
// unpaced CRLs hold the same entries and both verified the signature.
func TestPacedParseSameCRL(t *testing.T) {
	const n = 20_000
	der, ca, _ := benchCRL(t, n)
	plain, err := ParseCRL(der, ca.Cert)
	if err != nil {
		t.Fatal(err)
	}
	paced, err := parseCRLPaced(der, ca.Cert, newPacer(backgroundDuty))
	if err != nil {
		t.Fatal(err)
	}
	if plain.Len() != n || paced.Len() != n {
		t.Fatalf("entries: plain %d, paced %d, want %d", plain.Len(), paced.Len(), n)
	}
	for _, i := range []int{0, 1, yieldEntries - 1, yieldEntries, n / 2, n - 1} {
		s := benchSerial(i)
		pe, pok := plain.Lookup(s)
		qe, qok := paced.Lookup(s)
		if !pok || !qok || pe != qe {
			t.Errorf("serial %d: plain %v %v, paced %v %v", i, pe, pok, qe, qok)
		}
	}
	if err := paced.CheckSignatureFrom(ca.Cert); err != nil {
		t.Errorf("paced CRL: signature not remembered as verified: %v", err)
	}
	other, err := ParseCRL(der, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := other.Lookup(benchSerial(n + 1)); ok {
		t.Error("a serial not on the CRL was found")
	}
}

// TestPacerForBackgroundOnly: only the background refresher's fetches are
// paced; a fetch a handshake waits for is not.
func TestPacerForBackgroundOnly(t *testing.T) {
	if p := pacerFor(context.Background()); p != nil {
		t.Error("a request-path fetch is paced")
	}
	p := pacerFor(withBackgroundPacing(context.WithoutCancel(context.Background())))
	if p == nil || p.duty != backgroundDuty {
		t.Errorf("background pacer = %+v, want duty %v", p, backgroundDuty)
	}
}
