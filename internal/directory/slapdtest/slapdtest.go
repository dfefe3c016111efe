// Package slapdtest starts a real OpenLDAP server for tests: unprivileged,
// on 127.0.0.1, with its own slapd.conf and the Active Directory
// attributes certgate reads (ad.schema beside this file). Tests of
// internal/directory and of the gateway use it; it is never imported by
// product code.
package slapdtest

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "embed"

	"github.com/certgate/certgate/internal/pki/pkitest"
)

//go:embed ad.schema
var adSchema []byte

// Server is a real OpenLDAP server started for one test: unprivileged, on
// 127.0.0.1, with its own slapd.conf, the AD attributes of
// testdata/ad.schema, and the entries the test gives (loaded with
// slapadd before it starts). It serves ldap:// (StartTLS) and ldaps://.
type Server struct {
	dir string
	// LDAP is the ldap:// URL (StartTLS), LDAPS the ldaps:// one.
	LDAP, LDAPS string
	// CA verifies the server's certificate (127.0.0.1, localhost); CAFile
	// is the same as a PEM file.
	CA              *x509.CertPool
	CAFile          string
	cmd             *exec.Cmd
	ldapPort, tport string
}

// The directory's suffix and the read-only account a gateway binds as.
const (
	Base     = "dc=corp,dc=test"
	BindDN   = "cn=gateway,dc=corp,dc=test"
	Password = "gateway-secret"
)

func findSlapd(t testing.TB) (slapdBin, slapadd string) {
	t.Helper()
	slapdBin, err1 := exec.LookPath("slapd")
	if err1 != nil {
		slapdBin, err1 = "/usr/sbin/slapd", statErr("/usr/sbin/slapd")
	}
	slapadd, err2 := exec.LookPath("slapadd")
	if err2 != nil {
		slapadd, err2 = "/usr/sbin/slapadd", statErr("/usr/sbin/slapadd")
	}
	if err1 != nil || err2 != nil {
		if os.Getenv("CI") == "" {
			t.Skip("slapd/slapadd not installed (Debian packages slapd, ldap-utils); CI installs them")
		}
		t.Fatalf("slapd or slapadd missing in CI: %v %v", err1, err2)
	}
	return slapdBin, slapadd
}

func statErr(p string) error { _, err := os.Stat(p); return err }

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// Start writes the config, loads ldif (entries under Base; the base, the
// bind account and ou=people/ou=groups are added here) and starts slapd.
// It is stopped at the end of the test. Without slapd it skips the test
// outside CI and fails it in CI.
func Start(t testing.TB, ldif string) *Server {
	t.Helper()
	slapdBin, slapadd := findSlapd(t)
	dir := t.TempDir()
	schema := filepath.Join(dir, "ad.schema")
	if err := os.WriteFile(schema, adSchema, 0o600); err != nil {
		t.Fatal(err)
	}
	serverRoot := pkitest.NewRoot(t, "Directory Server Root")
	srv := serverRoot.Server(t, "ldap.corp.test", []string{"127.0.0.1", "localhost"})
	certFile, keyFile := pkitest.WriteLeaf(t, dir, "server", srv)
	if err := os.MkdirAll(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include %s
pidfile %s/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCertificateFile %s
TLSCertificateKeyFile %s
database mdb
maxsize 10485760
suffix "%s"
rootdn "cn=admin,%s"
rootpw admin-secret
directory %s/db
access to attrs=userPassword by anonymous auth by * none
access to * by dn.exact="%s" read by * none
`, schema, dir, certFile, keyFile, Base, Base, dir, BindDN)
	confFile := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	data := fmt.Sprintf(`dn: %s
objectClass: dcObject
objectClass: organization
dc: corp
o: Corp

dn: %s
objectClass: person
objectClass: simpleSecurityObject
cn: gateway
sn: gateway
userPassword: %s

dn: ou=people,%s
objectClass: organizationalUnit
ou: people

dn: ou=groups,%s
objectClass: organizationalUnit
ou: groups

%s`, Base, BindDN, Password, Base, Base, ldif)
	ldifFile := filepath.Join(dir, "data.ldif")
	if err := os.WriteFile(ldifFile, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(slapadd, "-f", confFile, "-l", ldifFile).CombinedOutput(); err != nil {
		t.Fatalf("slapadd: %v\n%s", err, out)
	}
	s := &Server{dir: dir, CA: serverRoot.Pool(), CAFile: pkitest.WriteCerts(t, dir, "ca.pem", serverRoot.Cert), ldapPort: freePort(t), tport: freePort(t)}
	s.LDAP = "ldap://127.0.0.1:" + s.ldapPort
	s.LDAPS = "ldaps://127.0.0.1:" + s.tport
	var log bytes.Buffer
	// -d 0: stay in the foreground (the test owns the process) and log
	// nothing but errors.
	s.cmd = exec.Command(slapdBin, "-f", confFile, "-h", s.LDAP+"/ "+s.LDAPS+"/", "-d", "0")
	s.cmd.Stdout, s.cmd.Stderr = &log, &log
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start slapd: %v", err)
	}
	t.Cleanup(s.Stop)
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+s.ldapPort, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slapd did not listen on %s: %v\n%s", s.LDAP, err, log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

// Stop kills slapd and waits for it: "directory down".
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// User is one account of the test directory, in ou=people.
type User struct {
	CN, UPN, SAM string
	// SID is the binary objectSid (directory.ParseSID of "S-1-5-21-...").
	SID []byte
	// AltSec are altSecurityIdentities values.
	AltSec []string
	// UAC is userAccountControl; Lockout lockoutTime; Expires
	// accountExpires (FILETIME).
	UAC      int
	Lockout  int64
	Expires  int64
	MemberOf []string // group CNs in ou=groups
}

// LDIF renders the account.
func (u User) LDIF(t testing.TB) string {
	var b strings.Builder
	fmt.Fprintf(&b, "dn: cn=%s,ou=people,%s\nobjectClass: inetOrgPerson\nobjectClass: certgateADObject\ncn: %s\nsn: %s\n", u.CN, Base, u.CN, u.CN)
	if u.UPN != "" {
		fmt.Fprintf(&b, "userPrincipalName: %s\n", u.UPN)
	}
	if u.SAM != "" {
		fmt.Fprintf(&b, "sAMAccountName: %s\n", u.SAM)
	}
	if len(u.SID) > 0 {
		fmt.Fprintf(&b, "objectSid:: %s\n", base64.StdEncoding.EncodeToString(u.SID))
	}
	for _, a := range u.AltSec {
		// Base64: values contain '<' and may start with a space.
		fmt.Fprintf(&b, "altSecurityIdentities:: %s\n", base64.StdEncoding.EncodeToString([]byte(a)))
	}
	fmt.Fprintf(&b, "userAccountControl: %d\n", u.UAC)
	if u.Lockout != 0 {
		fmt.Fprintf(&b, "lockoutTime: %d\n", u.Lockout)
	}
	if u.Expires != 0 {
		fmt.Fprintf(&b, "accountExpires: %d\n", u.Expires)
	}
	for _, g := range u.MemberOf {
		fmt.Fprintf(&b, "memberOf: cn=%s,ou=groups,%s\n", g, Base)
	}
	return b.String() + "\n"
}

// GroupLDIF renders a group in ou=groups; memberOf makes it a member of
// other groups (nesting).
func GroupLDIF(cn string, memberOf ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "dn: cn=%s,ou=groups,%s\nobjectClass: groupOfNames\nobjectClass: certgateADObject\ncn: %s\nmember: %s\n", cn, Base, cn, BindDN)
	for _, g := range memberOf {
		fmt.Fprintf(&b, "memberOf: cn=%s,ou=groups,%s\n", g, Base)
	}
	return b.String() + "\n"
}
