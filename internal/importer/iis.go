package importer

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/mapping"
)

// IISOptions are the inputs of IIS besides applicationHost.config.
type IISOptions struct {
	// Name is the applicationHost.config path as given, used in comments
	// and the report.
	Name string
	// Netsh is the output of `netsh http show sslcert` (optional);
	// NetshName its file name.
	Netsh     []byte
	NetshName string
	// CTLFile is a PEM file with the certificates of the CTL the binding
	// names (Ctl Identifier), exported from the Windows store.
	CTLFile string
	// Site translates only the IIS site of this name (any case).
	Site string
	// Upstream is where certgate sends allowed requests: the application
	// IIS served. Default DefaultUpstream.
	Upstream string
	// Output is the path the config will be written to; relative paths
	// in it resolve against its directory.
	Output string
}

// DefaultUpstream is the placeholder upstream when the source names none.
const DefaultUpstream = "http://127.0.0.1:8080"

// iisSslFlags are the bits of <access sslFlags>, by name and by the value
// IIS stores when the attribute is written as a number.
var iisSslFlags = map[string]int{
	"none": 0, "ssl": 8, "sslnegotiatecert": 32, "sslrequirecert": 64, "sslmapcert": 128, "ssl128": 256,
}

const (
	flagSsl        = 8
	flagNegotiate  = 32
	flagRequire    = 64
	flagMapCert    = 128
	flagSsl128     = 256
	iisKnownFlags  = flagSsl | flagNegotiate | flagRequire | flagMapCert | flagSsl128
	bindingFlagSNI = 1
)

// iisScope is the system.webServer of the whole server, a site or a path.
type iisScope struct {
	web  *xnode // <system.webServer>; nil when the location has none
	loc  *xnode // <location>, nil for the global scope
	path string // "" for the site root, "/app" for a sub-location
}

func (s iisScope) security(names ...string) *xnode {
	if s.web == nil {
		return nil
	}
	return s.web.child(append([]string{"security"}, names...)...)
}

type iisImporter struct {
	o     IISOptions
	rep   *Report
	doc   *document
	netsh []*netshBinding
	// global is <configuration><system.webServer>; locations every
	// <location> element in file order.
	global    iisScope
	locations []*xnode
	usedNames map[string]bool
}

// IIS translates an applicationHost.config (and optionally the netsh
// sslcert output) into a certgate config.
func IIS(data []byte, o IISOptions) (*Result, error) {
	if o.Name == "" {
		o.Name = "applicationHost.config"
	}
	if o.NetshName == "" {
		o.NetshName = "netsh-sslcert.txt"
	}
	if o.Upstream == "" {
		o.Upstream = DefaultUpstream
	}
	if o.Output == "" {
		o.Output = "certgate.yaml"
	}
	root, err := parseXML(o.Name, data)
	if err != nil {
		return nil, err
	}
	if root.name != "configuration" {
		return nil, fmt.Errorf("%s:%d: the root element is <%s>, want <configuration> (the applicationHost.config of IIS, %%windir%%\\System32\\inetsrv\\config)", o.Name, root.line, root.name)
	}
	im := &iisImporter{o: o, rep: &Report{Source: o.Name, Output: o.Output}, doc: &document{files: map[string][]byte{}}, usedNames: map[string]bool{}}
	if o.Netsh != nil {
		if im.netsh, err = parseNetsh(o.NetshName, o.Netsh); err != nil {
			return nil, err
		}
	}
	if o.CTLFile != "" {
		if _, err := os.Stat(o.CTLFile); err != nil {
			return nil, fmt.Errorf("--ctl-file: %w", err)
		}
	}
	im.global = iisScope{web: root.child("system.webServer")}
	im.locations = root.children("location")
	im.checkOverride(root)

	sitesNode := root.child("system.applicationHost", "sites")
	if sitesNode == nil {
		return nil, fmt.Errorf("%s: no <system.applicationHost><sites> section: is this applicationHost.config?", o.Name)
	}
	found := false
	for _, sn := range sitesNode.children("site") {
		name, _ := sn.attr("name")
		if o.Site != "" && !strings.EqualFold(name, o.Site) {
			continue
		}
		found = true
		im.site(sn, name)
	}
	if o.Site != "" && !found {
		return nil, fmt.Errorf("%s: no site named %q (--site)", o.Name, o.Site)
	}
	im.reportGlobalSecurity()
	if len(im.doc.sites) == 0 {
		return nil, fmt.Errorf("%s: no site with an https binding to translate; certgate serves HTTPS only", o.Name)
	}
	im.doc.header = []string{
		fmt.Sprintf("Translated by `certgate import iis` from %s%s.", o.Name, im.netshNote()),
		"Each block names the line it came from. Files under certs/ are to be exported",
		"from the Windows certificate store (see the report). Check with: certgate check -c " + filepath.Base(o.Output),
	}
	return im.doc.render(o.Output, im.rep)
}

func (im *iisImporter) netshNote() string {
	if im.netsh == nil {
		return ""
	}
	return " and " + im.o.NetshName
}

func (im *iisImporter) add(it Item) {
	if it.File == "" {
		it.File = im.o.Name
	}
	im.rep.add(it)
}

// checkOverride reports when applicationHost.config lets web.config files
// change sslFlags: the importer reads applicationHost.config only.
func (im *iisImporter) checkOverride(root *xnode) {
	var walk func(n *xnode, group string)
	walk = func(n *xnode, group string) {
		for _, k := range n.kids {
			switch k.name {
			case "sectionGroup":
				name, _ := k.attr("name")
				walk(k, group+"/"+name)
			case "section":
				name, _ := k.attr("name")
				mode, _ := k.attr("overrideModeDefault")
				if group == "/system.webServer/security" && name == "access" && strings.EqualFold(mode, "Allow") {
					im.add(Item{Kind: Todo, Security: true, Line: k.line, Setting: `<section name="access" overrideModeDefault="Allow">`,
						Reason: "applications may set sslFlags in their own web.config files, which this importer does not read",
						Action: "look for <access sslFlags> in each application's web.config and add those paths as locations"})
				}
			}
		}
	}
	if cs := root.child("configSections"); cs != nil {
		walk(cs, "")
	}
}

// siteName turns an IIS site name ("Default Web Site") into a certgate
// one (letters, digits, '-', '_', '.'), unique in the output.
func (im *iisImporter) siteName(iis string) string {
	var b strings.Builder
	for _, r := range iis {
		switch {
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	name := b.String()
	if name == "" {
		name = "site"
	}
	if len(name) > 60 {
		name = name[:60]
	}
	base := name
	for i := 2; im.usedNames[strings.ToLower(name)]; i++ {
		name = base + "-" + strconv.Itoa(i)
	}
	im.usedNames[strings.ToLower(name)] = true
	return name
}

type iisBinding struct {
	ip, port, host string
	sni            bool
	line           int
	info           string
	thumb          string // certificateHash, which IIS 8+ keeps on the binding too
}

// parseBinding splits bindingInformation "IP:port:host" ("*:443:",
// "[::1]:443:intranet.contoso.com").
func parseBinding(info string) (ip, port, host string, ok bool) {
	i := strings.LastIndexByte(info, ':')
	if i < 0 {
		return "", "", "", false
	}
	host = info[i+1:]
	ip, port, err := net.SplitHostPort(info[:i])
	if err != nil {
		return "", "", "", false
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", "", "", false
	}
	return ip, port, host, true
}

// scopesOf returns the site-level scope and the sub-location scopes of the
// site named name, in file order. IIS location paths are matched without
// regard to case.
func (im *iisImporter) scopesOf(name string) (siteScope iisScope, subs []iisScope) {
	siteScope = iisScope{path: ""}
	for _, l := range im.locations {
		p, _ := l.attr("path")
		p = strings.Trim(strings.ReplaceAll(p, "\\", "/"), "/")
		switch {
		case strings.EqualFold(p, name):
			// Several <location path="Site"> elements may exist; the
			// first with a system.webServer wins, later ones are merged
			// by the caller through the sub list.
			if siteScope.web == nil {
				siteScope = iisScope{web: l.child("system.webServer"), loc: l, path: ""}
			}
		case len(p) > len(name) && strings.EqualFold(p[:len(name)], name) && p[len(name)] == '/':
			subs = append(subs, iisScope{web: l.child("system.webServer"), loc: l, path: "/" + strings.Trim(p[len(name)+1:], "/")})
		}
	}
	return siteScope, subs
}

func (im *iisImporter) site(sn *xnode, iisName string) {
	var https []iisBinding
	hasHTTP := false
	if b := sn.child("bindings"); b != nil {
		for _, bn := range b.children("binding") {
			proto, _ := bn.attr("protocol")
			info, _ := bn.attr("bindingInformation")
			switch strings.ToLower(proto) {
			case "https":
				ip, port, host, ok := parseBinding(info)
				if !ok {
					im.add(Item{Kind: NotTranslated, Security: true, Line: bn.line, Site: iisName, Setting: `bindingInformation="` + info + `"`,
						Reason: "not IP:port:host", Action: "fix the binding and import again"})
					continue
				}
				flags, _ := bn.attr("sslFlags")
				f, _ := strconv.Atoi(flags)
				https = append(https, iisBinding{ip: ip, port: port, host: strings.ToLower(strings.TrimSuffix(host, ".")), sni: f&bindingFlagSNI != 0, line: bn.line, info: info, thumb: attrOr(bn, "certificateHash", "")})
			case "http":
				hasHTTP = true
			default:
				im.add(Item{Kind: NotTranslated, Line: bn.line, Site: iisName, Setting: `binding protocol="` + proto + `"`, Reason: "certgate serves HTTPS only"})
			}
		}
	}
	if len(https) == 0 {
		im.add(Item{Kind: NotTranslated, Line: sn.line, Site: iisName, Setting: `<site name="` + iisName + `">`,
			Reason: "the site has no https binding; certgate serves HTTPS only, so there is nothing to translate"})
		return
	}
	s := newSite(im.siteName(iisName))
	id, _ := sn.attr("id")
	s.note("", "IIS site %q (id %s), %s:%d", iisName, id, im.o.Name, sn.line)
	if hasHTTP {
		im.add(Item{Kind: Differs, Line: sn.line, Site: iisName, Setting: "http binding",
			Reason: "certgate serves HTTPS only; plain-HTTP requests to this site are not served", Action: "keep IIS or a redirect in front for http:// URLs, or drop the http binding"})
	}

	// Hosts and the listen port.
	noHost := false
	for _, b := range https {
		switch {
		case b.host == "":
			noHost = true
		case validHost(b.host) != nil:
			im.add(Item{Kind: NotTranslated, Security: true, Line: b.line, Site: iisName, Setting: `bindingInformation="` + b.info + `"`,
				Reason: "the host name is not one certgate accepts (an IP address or an invalid name); requests for it reach the default site and get its policy"})
		case !containsFold(s.Hosts, b.host):
			s.Hosts = append(s.Hosts, b.host)
		}
		port := ":" + b.port
		switch {
		case im.doc.listen == "":
			im.doc.listen = port
			im.doc.listenComment = fmt.Sprintf("port of the https binding at %s:%d (%s); every interface, like IIS's \"*\"", im.o.Name, b.line, b.info)
		case im.doc.listen != port:
			im.add(Item{Kind: NotTranslated, Line: b.line, Site: iisName, Setting: `bindingInformation="` + b.info + `"`,
				Reason: "certgate listens on one port (" + im.doc.listen + "); this binding's port is not served",
				Action: "run a second certgate for this port, or move the binding to " + im.doc.listen})
		}
		if b.ip != "*" && b.ip != "" {
			im.add(Item{Kind: Differs, Line: b.line, Site: iisName, Setting: `bindingInformation="` + b.info + `"`,
				Reason: "certgate selects sites by SNI host name, not by local IP address; the output listens on every interface",
				Action: "set listen: " + net.JoinHostPort(b.ip, b.port) + " if only that address should be served"})
		}
	}
	if len(s.Hosts) > 0 {
		s.note("hosts", "host names of the site's https bindings (SNI)")
	}
	if noHost {
		if im.defaultTaken() {
			im.add(Item{Kind: NotTranslated, Security: true, Line: https[0].line, Site: iisName, Setting: "https binding without host name",
				Reason: "another site already answers connections without a known SNI name; certgate has one default site",
				Action: "give this binding a host name"})
			if len(s.Hosts) == 0 {
				return
			}
		} else {
			s.Default = true
			s.note("default", "an https binding without host name: this site answers connections without SNI")
		}
	}

	// The server certificate stays in the Windows store: name the file to
	// export it to.
	s.Certificate = config.Certificate{Cert: "certs/" + s.Name + ".pem", Key: "certs/" + s.Name + ".key"}
	ns := im.netshFor(https)
	thumb := ""
	if ns != nil {
		if f, ok := ns.get("Certificate Hash"); ok {
			thumb = f.value
		}
	}
	if thumb == "" {
		thumb = https[0].thumb
	}
	if thumb != "" {
		s.note("certificate", "export the certificate with thumbprint %s (LocalMachine\\My) and its key here", thumb)
	} else {
		s.note("certificate", "export the site's server certificate and its key here")
	}
	im.add(Item{Kind: Todo, Site: iisName, Line: https[0].line, Setting: "server certificate " + thumb,
		Reason: "the certificate and key live in the Windows certificate store",
		Action: fmt.Sprintf("export them as PFX and convert: openssl pkcs12 -in site.pfx -nokeys -out %[1]s.pem; openssl pkcs12 -in site.pfx -nocerts -nodes -out %[1]s.key (paths relative to the config)", "certs/"+s.Name)})

	siteScope, subs := im.scopesOf(iisName)
	im.upstream(s, iisName, siteScope)
	im.locationsOf(s, iisName, siteScope, subs)
	im.mapping(s, iisName, siteScope, subs, ns)
	for _, sc := range append([]iisScope{siteScope}, subs...) {
		im.authorization(s, iisName, sc)
	}
	im.webSocket(s, iisName, siteScope, subs)
	im.clientAuth(s, iisName, ns)
	for _, sc := range append([]iisScope{siteScope}, subs...) {
		im.reportSecurity(sc, iisName, true)
	}
	im.doc.sites = append(im.doc.sites, s)
}

func (im *iisImporter) defaultTaken() bool {
	for _, s := range im.doc.sites {
		if s.Default {
			return true
		}
	}
	return false
}

// netshFor returns the netsh entry of the site's first https binding that
// has one, reporting a missing entry.
func (im *iisImporter) netshFor(https []iisBinding) *netshBinding {
	if im.netsh == nil {
		return nil
	}
	for _, b := range https {
		if e := matchNetsh(im.netsh, b.ip, b.port, b.host, b.sni); e != nil {
			return e
		}
	}
	return nil
}

// upstream takes the target of an ARR/URL Rewrite rule that rewrites to an
// absolute URL, the IIS way of reverse proxying; otherwise the placeholder.
func (im *iisImporter) upstream(s *siteOut, iisName string, scope iisScope) {
	s.Upstream = im.o.Upstream
	for _, sc := range []iisScope{scope, im.global} {
		rules := sc.web
		if rules != nil {
			rules = rules.child("rewrite", "rules")
		}
		if rules == nil {
			continue
		}
		for _, r := range rules.children("rule") {
			a := r.child("action")
			if a == nil {
				continue
			}
			typ, _ := a.attr("type")
			raw, _ := a.attr("url")
			u, err := url.Parse(strings.ReplaceAll(strings.ReplaceAll(raw, "{", "%7B"), "}", "%7D"))
			if !strings.EqualFold(typ, "Rewrite") || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Contains(u.Host, "%7B") {
				continue
			}
			s.Upstream = u.Scheme + "://" + u.Host
			s.note("upstream", "%s:%d: URL Rewrite rule %q rewrites to %s", im.o.Name, a.line, attrOr(r, "name", ""), raw)
			im.add(Item{Kind: Differs, Line: r.line, Site: iisName, Setting: `<rule name="` + attrOr(r, "name", "") + `">`,
				Reason: "certgate sends every allowed request to " + s.Upstream + " with its path unchanged; the rule's pattern, conditions and path rewriting are not translated",
				Action: "check that the upstream serves the same paths"})
			return
		}
	}
	s.note("upstream", "TODO: IIS served the application itself; point this at where it runs now")
	im.add(Item{Kind: Todo, Line: 0, Site: iisName, Setting: "upstream",
		Reason: "IIS served the application; certgate forwards to an upstream and the output uses " + s.Upstream,
		Action: "set upstream: to the application's address (IIS on another port, Kestrel, ...), or import with --upstream"})
}

func attrOr(n *xnode, name, def string) string {
	if v, ok := n.attr(name); ok {
		return v
	}
	return def
}

// parseSslFlags reads an <access sslFlags> value: names separated by
// commas in any order, or the number IIS stores.
func parseSslFlags(v string) (flags int, unknown []string) {
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		if n&^iisKnownFlags != 0 {
			unknown = append(unknown, strconv.Itoa(n&^iisKnownFlags))
		}
		return n, unknown
	}
	for _, part := range strings.Split(v, ",") {
		p := strings.ToLower(strings.TrimSpace(part))
		if p == "" {
			continue
		}
		f, ok := iisSslFlags[p]
		if !ok {
			unknown = append(unknown, strings.TrimSpace(part))
			continue
		}
		flags |= f
	}
	return flags, unknown
}

// policyOf is the location policy of sslFlags: SslRequireCert requires
// (also without SslNegotiateCert: stricter), SslNegotiateCert accepts,
// anything else ignores the certificate.
func policyOf(flags int) string {
	switch {
	case flags&flagRequire != 0:
		return config.ClientCertRequire
	case flags&flagNegotiate != 0:
		return config.ClientCertAccept
	}
	return config.ClientCertIgnore
}

// accessOf reads the sslFlags of a scope; ok is false when the scope does
// not set them.
func (im *iisImporter) accessOf(sc iisScope, iisName string) (policy string, line int, raw string, ok bool) {
	a := sc.security("access")
	if a == nil {
		return "", 0, "", false
	}
	raw, ok = a.attr("sslFlags")
	if !ok {
		return "", 0, "", false
	}
	flags, unknown := parseSslFlags(raw)
	policy = policyOf(flags)
	if len(unknown) > 0 {
		// An unknown flag may be a requirement this importer does not
		// know: require a certificate rather than guess less.
		policy = config.ClientCertRequire
		im.add(Item{Kind: Stricter, Security: true, Line: a.line, Site: iisName, Setting: `sslFlags="` + raw + `"`,
			Reason: "unknown flag(s) " + strings.Join(unknown, ", ") + "; translated as require",
			Action: "check the flags; IIS knows None, Ssl, SslNegotiateCert, SslRequireCert, SslMapCert, Ssl128"})
	}
	if flags&flagMapCert != 0 {
		im.add(Item{Kind: NotTranslated, Line: a.line, Site: iisName, Setting: `sslFlags="` + raw + `"`,
			Reason: "SslMapCert is obsolete (IIS 6 mapping); certificate mapping is configured under mapping:"})
	}
	if flags&flagRequire != 0 && flags&flagNegotiate == 0 {
		im.add(Item{Kind: Stricter, Line: a.line, Site: iisName, Setting: `sslFlags="` + raw + `"`,
			Reason: "SslRequireCert without SslNegotiateCert: translated as require"})
	}
	return policy, a.line, raw, true
}

func (im *iisImporter) locationsOf(s *siteOut, iisName string, siteScope iisScope, subs []iisScope) {
	rootPolicy := config.ClientCertIgnore
	if p, line, raw, ok := im.accessOf(siteScope, iisName); ok {
		rootPolicy = p
		s.note("locations[0]", "%s:%d: <location path=%q> sslFlags=%q", im.o.Name, line, attrOr(siteScope.loc, "path", ""), raw)
	} else if p, line, raw, ok := im.accessOf(im.global, ""); ok {
		rootPolicy = p
		s.note("locations[0]", "%s:%d: server-wide <access sslFlags=%q>", im.o.Name, line, raw)
	} else {
		s.note("locations[0]", "no sslFlags set for the site or the server: IIS's default None")
	}
	s.Locations = append(s.Locations, config.Location{Path: "/", ClientCert: rootPolicy})
	idx := map[string]int{"/": 0}
	for _, sc := range subs {
		p, line, raw, ok := im.accessOf(sc, iisName)
		if !ok {
			continue
		}
		path := sc.path
		if strings.ContainsAny(path, "?#") || path == "/" {
			im.add(Item{Kind: NotTranslated, Security: true, Line: line, Site: iisName, Setting: `<location path="` + attrOr(sc.loc, "path", "") + `">`,
				Reason: "not a path certgate can match", Action: "add the location by hand"})
			continue
		}
		key := strings.ToLower(path)
		if j, dup := idx[key]; dup {
			// IIS refuses duplicate location paths; if two differ only
			// in case, keep the stricter.
			if rank(p) > rank(s.Locations[j].ClientCert) {
				s.Locations[j].ClientCert = p
			}
			im.add(Item{Kind: Stricter, Security: true, Line: line, Site: iisName, Setting: `<location path="` + attrOr(sc.loc, "path", "") + `">`,
				Reason: "a second location for the same path; the stricter policy is kept"})
			continue
		}
		i := len(s.Locations)
		idx[key] = i
		s.Locations = append(s.Locations, config.Location{Path: path, ClientCert: p})
		s.note("locations["+strconv.Itoa(i)+"]", "%s:%d: <location path=%q> sslFlags=%q", im.o.Name, line, attrOr(sc.loc, "path", ""), raw)
	}
	// IIS matches <location path> without regard to case: /SECURE gets
	// /secure's policy. Matching case-insensitively keeps that.
	s.Paths.CaseInsensitive = true
	s.note("paths", "IIS matches location paths case-insensitively (/PAYROLL is /payroll)")
}

// locationFor returns the index of the location for path, adding one with
// the policy of the longest location covering it when there is none.
func locationFor(s *siteOut, path string) int {
	best, bestLen := 0, -1
	for i, l := range s.Locations {
		if strings.EqualFold(l.Path, path) {
			return i
		}
		p := strings.TrimSuffix(l.Path, "/")
		if (p == "" || strings.EqualFold(path, p) || len(path) > len(p) && strings.EqualFold(path[:len(p)], p) && path[len(p)] == '/') && len(p) > bestLen {
			best, bestLen = i, len(p)
		}
	}
	s.Locations = append(s.Locations, config.Location{Path: path, ClientCert: s.Locations[best].ClientCert})
	return len(s.Locations) - 1
}

// authorization translates the URL Authorization rules of a scope
// (<security><authorization>): the users and roles of its Allow rules
// become allow_users / allow_groups, and a Deny of anonymous users ("?")
// requires a certificate. Allow rules inherited from above (the
// server-wide Allow users="*") are not carried: a location that lists who
// may enter admits only them, the stricter reading. Deny rules for named
// users and verb-limited rules have no equivalent and are reported.
func (im *iisImporter) authorization(s *siteOut, iisName string, sc iisScope) {
	az := sc.security("authorization")
	if az == nil {
		return
	}
	where := `<location path="` + attrOr(sc.loc, "path", "") + `"> <authorization>`
	var users, roles []string
	allowAll, denyAnon := false, false
	for _, r := range az.kids {
		if r.name != "add" {
			continue // clear / remove: inherited rules are not carried anyway
		}
		typ := attrOr(r, "accessType", "")
		if v := attrOr(r, "verbs", ""); v != "" {
			im.add(Item{Kind: Stricter, Security: true, Line: r.line, Site: iisName, Setting: where + ` verbs="` + v + `"`,
				Reason: "a rule limited to some methods has no equivalent; an Allow rule of this kind is left out (those users are not admitted), a Deny rule is reported",
				Action: "restrict methods in the upstream"})
			continue
		}
		split := func(v string) []string {
			var out []string
			for _, x := range strings.Split(v, ",") {
				if x = strings.TrimSpace(x); x != "" {
					out = append(out, x)
				}
			}
			return out
		}
		us, rs := split(attrOr(r, "users", "")), split(attrOr(r, "roles", ""))
		switch {
		case strings.EqualFold(typ, "Allow"):
			for _, u := range us {
				switch u {
				case "*":
					allowAll = true
				case "?":
					// anonymous users allowed: nothing to require
				default:
					users = append(users, u)
				}
			}
			roles = append(roles, rs...)
		case strings.EqualFold(typ, "Deny"):
			rest := false
			for _, u := range us {
				if u == "?" {
					denyAnon = true
				} else {
					rest = true
				}
			}
			if rest || len(rs) > 0 {
				im.add(Item{Kind: NotTranslated, Security: true, Line: r.line, Site: iisName, Setting: where + ` Deny users="` + attrOr(r, "users", "") + `" roles="` + attrOr(r, "roles", "") + `"`,
					Reason: "certgate has allow lists, not deny lists: these users and roles are not refused", Action: "use a many_to_one deny rule for their certificates, or an allow list"})
			}
		}
	}
	path := sc.path
	if path == "" {
		path = "/"
	}
	restrict := !allowAll && (len(users) > 0 || len(roles) > 0)
	if !restrict && !denyAnon {
		return
	}
	i := locationFor(s, path)
	l := &s.Locations[i]
	p := "locations[" + strconv.Itoa(i) + "]"
	if denyAnon && l.ClientCert != config.ClientCertRequire {
		l.ClientCert = config.ClientCertRequire
		s.note(p, "%s:%d: <authorization> denies anonymous users (users=\"?\"): a certificate is required", im.o.Name, az.line)
		im.add(Item{Kind: Stricter, Security: true, Line: az.line, Site: iisName, Setting: where + ` Deny users="?"`,
			Reason: "anonymous users were denied; certgate authenticates by certificate only, so a certificate is required here (other IIS authentication methods are not translated)"})
	}
	if !restrict {
		return
	}
	if s.Mapping == nil {
		im.add(Item{Kind: NotTranslated, Security: true, Line: az.line, Site: iisName, Setting: where,
			Reason: "the allowed users and roles need certificate mapping, which this site does not have: not enforced",
			Action: "add a mapping block, then allow_users / allow_groups on the location"})
		return
	}
	if l.ClientCert == config.ClientCertIgnore {
		l.ClientCert = config.ClientCertRequire
		im.add(Item{Kind: Stricter, Security: true, Line: az.line, Site: iisName, Setting: where,
			Reason: "the path used no client certificate, but only some users may enter: a certificate is required so that the user is known"})
	}
	l.AllowUsers, l.AllowGroups = users, roles
	s.note(p, "%s:%d: <authorization> allows only users %v, roles %v", im.o.Name, az.line, users, roles)
	it := Item{Kind: Stricter, Security: true, Line: az.line, Site: iisName, Setting: where,
		Reason: "the Allow rules' users and roles became allow_users / allow_groups; rules inherited from above (such as Allow users=\"*\") were not carried, so only these are admitted (403.100 otherwise)"}
	if len(roles) > 0 {
		it.Action = "check that the mapping gives these group names (Windows roles such as DOMAIN\\Group), or rename them"
	}
	im.add(it)
}

// webSocket passes WebSocket upgrades on every location when the site (or
// the server) enables IIS's WebSocket module; certgate refuses upgrades a
// location does not list.
func (im *iisImporter) webSocket(s *siteOut, iisName string, siteScope iisScope, subs []iisScope) {
	var ws *xnode
	for _, sc := range []iisScope{siteScope, im.global} {
		if sc.web != nil {
			if n := sc.web.child("webSocket"); n != nil {
				ws = n
				break
			}
		}
	}
	for _, sc := range subs {
		if sc.web != nil && sc.web.child("webSocket") != nil {
			n := sc.web.child("webSocket")
			im.add(Item{Kind: NotTranslated, Line: n.line, Site: iisName, Setting: `<location path="` + attrOr(sc.loc, "path", "") + `"> <webSocket>`,
				Reason: "the site's WebSocket setting applies to every location", Action: "set upgrade: per location by hand"})
		}
	}
	if ws == nil || !isEnabled(ws) {
		return
	}
	for i := range s.Locations {
		s.Locations[i].Upgrade = []string{"websocket"}
	}
	s.note("locations[0]", "%s:%d: <webSocket enabled=\"true\">: WebSocket upgrades are passed on every location", im.o.Name, ws.line)
}

func rank(p string) int {
	switch p {
	case config.ClientCertRequire:
		return 2
	case config.ClientCertAccept:
		return 1
	}
	return 0
}

func (im *iisImporter) clientAuth(s *siteOut, iisName string, ns *netshBinding) {
	asks := false
	accepts := false
	for _, l := range s.Locations {
		asks = asks || l.ClientCert != config.ClientCertIgnore
		accepts = accepts || l.ClientCert == config.ClientCertAccept
	}
	ca := &s.ClientAuth
	if accepts {
		ca.RejectInvalid = true
		s.note("client_auth.reject_invalid", "stricter than IIS's SslNegotiateCert documents: a presented certificate that fails validation gets its 403")
		im.add(Item{Kind: Stricter, Security: true, Site: iisName, Setting: "sslFlags SslNegotiateCert",
			Reason: "a client that presents an invalid certificate on an accept path is refused with its 403 (403.13/.16/.17) instead of proceeding anonymously",
			Action: "set client_auth.reject_invalid: false if such clients must reach these paths anonymously"})
	}

	// Trust: the CTL when given, else the machine roots to export.
	ctlID := ""
	var ctlLine int
	if ns != nil {
		if f, ok := ns.get("Ctl Identifier"); ok && !isNullNetsh(f.value) {
			ctlID, ctlLine = f.value, f.line
		}
	}
	switch {
	case ctlID != "" && im.o.CTLFile != "":
		abs, _ := filepath.Abs(im.o.CTLFile)
		ca.Trust.Roots = config.Paths{abs}
		s.note("client_auth.trust", "%s:%d: Ctl Identifier %s, exported to %s: sent as the issuer list and the only CAs trusted", im.o.NetshName, ctlLine, ctlID, im.o.CTLFile)
		im.add(Item{Kind: Stricter, Security: true, File: im.o.NetshName, Line: ctlLine, Site: iisName, Setting: "Ctl Identifier : " + ctlID,
			Reason: "the CTL's CAs are both the issuer list and the only trusted CAs (IIS's Exclusive CA Trust); in IIS's default trust mode the machine's roots were trusted too",
			Action: "add other roots to client_auth.trust.roots and set issuer_list.source to " + im.o.CTLFile + " if clients of other CAs must get in"})
	case ctlID != "":
		ca.Trust.Roots = config.Paths{"certs/" + s.Name + "-ctl.pem"}
		s.note("client_auth.trust", "TODO: %s:%d: Ctl Identifier %s: export the CTL's certificates here (or import with --ctl-file)", im.o.NetshName, ctlLine, ctlID)
		im.add(Item{Kind: Todo, Security: true, File: im.o.NetshName, Line: ctlLine, Site: iisName, Setting: "Ctl Identifier : " + ctlID,
			Reason: "the CTL's contents live in the Windows certificate store",
			Action: "export the CTL's CA certificates as PEM to certs/" + s.Name + "-ctl.pem, or import again with --ctl-file certs.pem"})
	case asks:
		ca.Trust.Roots = config.Paths{"certs/" + s.Name + "-client-roots.pem"}
		s.note("client_auth.trust", "TODO: export the root CAs of your client certificates here; IIS trusted the machine's Trusted Root store")
		im.add(Item{Kind: Todo, Security: true, Site: iisName, Setting: "client certificate trust",
			Reason: "IIS validated client certificates against the machine's Trusted Root store; certgate trusts only the roots listed",
			Action: "export only the root CAs that issue your client certificates (LocalMachine\\Root) to certs/" + s.Name + "-client-roots.pem; their intermediates go to client_auth.trust.intermediates"})
	}
	if !asks && ctlID == "" {
		return
	}
	im.revocation(s, iisName, ns)
}

func isNullNetsh(v string) bool {
	return v == "" || strings.EqualFold(v, "(null)")
}

func enabled(v string) bool { return strings.EqualFold(v, "Enabled") }

// revocation translates the binding's revocation settings; without netsh
// output IIS's defaults apply (checking on, online).
func (im *iisImporter) revocation(s *siteOut, iisName string, ns *netshBinding) {
	r := &s.ClientAuth.Revocation
	if ns == nil {
		r.Mode = config.RevocationOnline
		why := "no netsh output given"
		if im.netsh != nil {
			why = "no binding in " + im.o.NetshName + " matches this site's https bindings"
		}
		s.note("client_auth.revocation", "%s: IIS's default, revocation checked online", why)
		im.add(Item{Kind: Todo, Security: true, Site: iisName, Setting: "revocation",
			Reason: why + "; revocation is checked online, IIS's default",
			Action: "import with --netsh (the output of `netsh http show sslcert`) to carry the binding's revocation settings"})
		return
	}
	file := im.o.NetshName
	src := []string{fmt.Sprintf("%s:%d: %s %s", file, ns.line, ns.kind, ns.endpoint)}
	for _, f := range ns.fields {
		switch strings.ToLower(f.key) {
		case "verify client certificate revocation":
			if enabled(f.value) {
				if r.Mode == "" {
					r.Mode = config.RevocationOnline
				}
			} else {
				r.Mode = config.RevocationOff
				im.add(Item{Kind: Differs, Security: true, File: file, Line: f.line, Site: iisName, Setting: f.key + " : " + f.value,
					Reason: "revocation checking was off in IIS and stays off (mode: off, logged on each use)",
					Action: "consider mode: online"})
			}
			src = append(src, fmt.Sprintf("%s:%d: %s: %s", file, f.line, f.key, f.value))
		case "verify revocation using cached client certificate only":
			if enabled(f.value) && r.Mode != config.RevocationOff {
				r.Mode = config.RevocationCacheOnly
				src = append(src, fmt.Sprintf("%s:%d: %s: %s", file, f.line, f.key, f.value))
				im.add(Item{Kind: Todo, Security: true, File: file, Line: f.line, Site: iisName, Setting: f.key + " : " + f.value,
					Reason: "cache-only uses local CRL files and certgate's on-disk cache, never the network; with neither, every certificate is refused with 403.13",
					Action: "list the CRLs under client_auth.revocation.crls, or set cache_dir"})
			}
		case "revocation freshness time":
			if n, err := strconv.Atoi(f.value); err == nil && n > 0 {
				r.MaxAge = time.Duration(n) * time.Second
				src = append(src, fmt.Sprintf("%s:%d: %s: %s s", file, f.line, f.key, f.value))
			}
		case "url retrieval timeout":
			if n, err := strconv.Atoi(f.value); err == nil && n > 0 {
				r.Timeout = time.Duration(n) * time.Millisecond
				src = append(src, fmt.Sprintf("%s:%d: %s: %s ms", file, f.line, f.key, f.value))
			}
		case "usage check":
			if !enabled(f.value) {
				im.add(Item{Kind: Stricter, Security: true, File: file, Line: f.line, Site: iisName, Setting: f.key + " : " + f.value,
					Reason: "certgate always checks that a client certificate's Key Usage and EKU allow client authentication (403.16 otherwise)"})
			}
		case "negotiate client certificate":
			if enabled(f.value) {
				im.add(Item{Kind: Differs, File: file, Line: f.line, Site: iisName, Setting: f.key + " : " + f.value,
					Reason: "certgate asks for a client certificate in the handshake whenever a location of the site accepts or requires one; there is no separate switch"})
			}
		case "disable legacy tls versions":
			// certgate never negotiates below TLS 1.2: the setting holds.
		case "ds mapper usage", "certificate hash", "application id", "certificate store name", "ctl identifier", "ctl store name":
			// Handled with mapping, the certificate and trust.
		default:
			if f.value == "" || strings.EqualFold(f.value, "Not Set") || strings.EqualFold(f.value, "Disabled") || isNullNetsh(f.value) || f.value == "0" {
				continue
			}
			im.add(Item{Kind: NotTranslated, File: file, Line: f.line, Site: iisName, Setting: f.key + " : " + f.value,
				Reason: "no certgate equivalent"})
		}
	}
	if r.Mode == "" {
		r.Mode = config.RevocationOnline
		src = append(src, "no revocation line: IIS's default, online")
	}
	s.comments["client_auth.revocation"] = append(s.comments["client_auth.revocation"], src...)
}

// mapping translates iisClientCertificateMappingAuthentication and the
// Active Directory mapper of the site.
func (im *iisImporter) mapping(s *siteOut, iisName string, siteScope iisScope, subs []iisScope, ns *netshBinding) {
	auth := func(sc iisScope, name string) *xnode { return sc.security("authentication", name) }
	// The mapping of the site root, else the server's; a sub-location's
	// own mapping is used when the site has none, for the whole site.
	iisMap, from := auth(siteScope, "iisClientCertificateMappingAuthentication"), siteScope
	if iisMap == nil {
		iisMap, from = auth(im.global, "iisClientCertificateMappingAuthentication"), im.global
	}
	for _, sc := range subs {
		m := auth(sc, "iisClientCertificateMappingAuthentication")
		if m == nil {
			continue
		}
		if iisMap == nil || (from.loc == nil && !isEnabled(iisMap)) {
			iisMap, from = m, sc
			im.add(Item{Kind: Differs, Security: true, Line: m.line, Site: iisName, Setting: `<location path="` + attrOr(sc.loc, "path", "") + `"> iisClientCertificateMappingAuthentication`,
				Reason: "certgate maps certificates per site: this location's mapping now applies to every path of the site that uses a certificate"})
			continue
		}
		im.add(Item{Kind: NotTranslated, Security: true, Line: m.line, Site: iisName, Setting: `<location path="` + attrOr(sc.loc, "path", "") + `"> iisClientCertificateMappingAuthentication`,
			Reason: "certgate maps certificates per site; the site's mapping applies here instead of this location's",
			Action: "split the path into a site of its own if it needs different mappings, or restrict it with allow_users"})
	}
	adOn := false
	adLine := 0
	adFile := im.o.Name
	for _, sc := range append([]iisScope{siteScope, im.global}, subs...) {
		if n := auth(sc, "clientCertificateMappingAuthentication"); n != nil && isEnabled(n) {
			adOn, adLine = true, n.line
			break
		}
	}
	if ns != nil {
		if f, ok := ns.get("DS Mapper Usage"); ok && enabled(f.value) && !adOn {
			adOn, adLine, adFile = true, f.line, im.o.NetshName
		}
	}
	iisOn := iisMap != nil && isEnabled(iisMap)
	if iisMap != nil && !iisOn && (len(iisMap.kids) > 0) {
		im.add(Item{Kind: NotTranslated, Line: iisMap.line, Site: iisName, Setting: `iisClientCertificateMappingAuthentication enabled="false"`,
			Reason: "mapping is disabled; its mappings are not translated"})
	}
	if !iisOn && !adOn {
		return
	}
	m := &config.Mapping{}
	s.Mapping = m

	// Required: with anonymous authentication off a certificate that maps
	// to no account gets no access; unknown means IIS's schema default
	// (off), the stricter reading.
	anon := auth(siteScope, "anonymousAuthentication")
	if anon == nil {
		anon = auth(im.global, "anonymousAuthentication")
	}
	switch {
	case anon != nil && isEnabled(anon):
		m.Required = false
		s.note("mapping.required", "%s:%d: anonymousAuthentication enabled: an unmapped certificate proceeds without a user", im.o.Name, anon.line)
	case anon != nil:
		m.Required = true
		s.note("mapping.required", "%s:%d: anonymousAuthentication disabled: an unmapped certificate is refused (403.12)", im.o.Name, anon.line)
	default:
		m.Required = true
		s.note("mapping.required", "no anonymousAuthentication setting: IIS's schema default is disabled, so an unmapped certificate is refused (403.12)")
	}
	if iisOn {
		s.note("mapping", "%s:%d: iisClientCertificateMappingAuthentication", im.o.Name, iisMap.line)
		im.oneToOne(s, iisName, iisMap)
		im.manyToOne(s, iisName, iisMap)
	}
	catchAll := false
	for _, r := range m.ManyToOne {
		if r.Match.Subject == nil && r.Match.Issuer == nil && r.Match.SAN.IsZero() && r.IssuerFingerprint == "" {
			catchAll = true
		}
	}
	if adOn {
		// IIS's Active Directory mapper asks a domain controller, which
		// since KB5014754 accepts strong mappings only: the directory
		// block's default methods. Its placeholders fail closed: certgate
		// check and serve refuse the missing password file, and an
		// unreachable directory refuses every certificate.
		m.Directory = &config.Directory{
			URL:          "ldaps://dc.example.invalid",
			BaseDN:       "DC=example,DC=invalid",
			BindDN:       "CN=certgate,CN=Users,DC=example,DC=invalid",
			PasswordFile: "secrets/" + s.Name + "-ldap-bind.password",
		}
		s.note("mapping.directory", "TODO: %s:%d maps certificates to Active Directory accounts (clientCertificateMappingAuthentication / DS mapper).", adFile, adLine)
		s.note("mapping.directory", "Complete this block: a domain controller (ldaps://, or ldap:// with StartTLS), the search base, a bind account")
		s.note("mapping.directory", "whose password goes in password_file (never in this file). Until then every certificate it would map is refused.")
		reason := "translated as mapping.directory with placeholder values; until they are completed, certgate check reports the missing password file and no certificate maps through the directory"
		if catchAll {
			reason += "; a many-to-one mapping without rules maps every certificate before the directory is asked, as in IIS"
		}
		im.add(Item{Kind: Todo, Security: true, File: adFile, Line: adLine, Site: iisName, Setting: "Active Directory client certificate mapping",
			Reason: reason,
			Action: "set mapping.directory url, base_dn, bind_dn and password_file (and ca if the directory's certificate is from a private CA); add upn.issuers to also map by UPN or SID, as the NTAuth store did"})
	}
	if m.Required && len(m.OneToOne) == 0 && len(m.ManyToOne) == 0 && m.Directory == nil {
		m.ManyToOne = append(m.ManyToOne, config.ManyToOne{Name: "no-mapping", Deny: true})
		s.note("mapping.many_to_one[0]", "mapping is enabled but no mapping was translated: IIS would refuse every certificate, and so does this rule")
		im.add(Item{Kind: Stricter, Security: true, Line: iisMap.line, Site: iisName, Setting: "iisClientCertificateMappingAuthentication",
			Reason: "no enabled mapping to translate; every certificate is refused with 403.12, as IIS would refuse it"})
	}
}

func isEnabled(n *xnode) bool {
	v, _ := n.attr("enabled")
	return strings.EqualFold(v, "true")
}

func (im *iisImporter) reportPassword(n *xnode, iisName, user string) {
	if _, ok := n.attr("password"); ok {
		im.add(Item{Kind: NotTranslated, Line: n.line, Site: iisName, Setting: "password of " + user,
			Reason: "not copied: certgate never logs on as the mapped account, it forwards the user name to the upstream (X-Remote-User)",
			Action: "keep the password in your secret store if the application needs it; certgate needs none"})
	}
}

func (im *iisImporter) oneToOne(s *siteOut, iisName string, iisMap *xnode) {
	if strings.EqualFold(attrOr(iisMap, "oneToOneCertificateMappingsEnabled", "true"), "false") {
		if n := iisMap.child("oneToOneMappings"); n != nil && len(n.kids) > 0 {
			im.add(Item{Kind: NotTranslated, Line: n.line, Site: iisName, Setting: `oneToOneCertificateMappingsEnabled="false"`, Reason: "one-to-one mappings are disabled"})
		}
		return
	}
	n := iisMap.child("oneToOneMappings")
	if n == nil {
		return
	}
	m := s.Mapping
	seen := map[string]bool{}
	for _, e := range n.children("add") {
		user := attrOr(e, "userName", "")
		im.reportPassword(e, iisName, user)
		if strings.EqualFold(attrOr(e, "enabled", "true"), "false") {
			im.add(Item{Kind: NotTranslated, Line: e.line, Site: iisName, Setting: "one-to-one mapping of " + user, Reason: "disabled"})
			continue
		}
		der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(attrOr(e, "certificate", "")), ""))
		var cert *x509.Certificate
		if err == nil {
			cert, err = x509.ParseCertificate(der)
		}
		if err != nil {
			im.add(Item{Kind: NotTranslated, Security: true, Line: e.line, Site: iisName, Setting: "one-to-one mapping of " + user,
				Reason: "the certificate attribute is not a base64 DER certificate (" + err.Error() + "); the mapping is left out, so this certificate maps to no one",
				Action: "add the mapping by hand with the certificate's SHA-256 fingerprint"})
			continue
		}
		if err := mapping.CheckUserName(user); err != nil {
			im.add(Item{Kind: NotTranslated, Security: true, Line: e.line, Site: iisName, Setting: "one-to-one mapping of " + strconv.Quote(user),
				Reason: "user name: " + err.Error() + "; the mapping is left out"})
			continue
		}
		sum := sha256.Sum256(der)
		fp := hex.EncodeToString(sum[:])
		if seen[fp] {
			im.add(Item{Kind: NotTranslated, Security: true, Line: e.line, Site: iisName, Setting: "one-to-one mapping of " + user,
				Reason: "the certificate is already mapped above; a certificate maps to one user, the first mapping is kept"})
			continue
		}
		seen[fp] = true
		i := len(m.OneToOne)
		file := fmt.Sprintf("certs/%s-one-to-one-%d.pem", s.Name, i+1)
		im.doc.files[file] = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		m.OneToOne = append(m.OneToOne, config.OneToOne{Fingerprint: fp, User: user})
		s.note("mapping.one_to_one["+strconv.Itoa(i)+"]", "%s:%d: oneToOneMappings userName=\"%s\"; certificate \"%s\" written to %s", im.o.Name, e.line, user, cert.Subject.String(), file)
	}
}

// iisSubFields maps IIS certificateSubField names to certgate DN
// attributes ("S" is IIS's state or province).
func iisSubField(v string) (string, bool) {
	if strings.EqualFold(v, "S") {
		return "ST", true
	}
	return mapping.CanonicalDNAttribute(v)
}

// escapeIISCriteria turns an IIS matchCriteria (only * is a wildcard)
// into a certgate glob, where ?, [ and \ are special too.
func escapeIISCriteria(v string) string {
	var b strings.Builder
	for _, r := range v {
		if r == '?' || r == '[' || r == ']' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (im *iisImporter) manyToOne(s *siteOut, iisName string, iisMap *xnode) {
	if strings.EqualFold(attrOr(iisMap, "manyToOneCertificateMappingsEnabled", "true"), "false") {
		if n := iisMap.child("manyToOneMappings"); n != nil && len(n.kids) > 0 {
			im.add(Item{Kind: NotTranslated, Line: n.line, Site: iisName, Setting: `manyToOneCertificateMappingsEnabled="false"`, Reason: "many-to-one mappings are disabled"})
		}
		return
	}
	n := iisMap.child("manyToOneMappings")
	if n == nil {
		return
	}
	m := s.Mapping
	names := map[string]bool{}
	catchAll := ""
	for _, e := range n.children("add") {
		name := attrOr(e, "name", "")
		user := attrOr(e, "userName", "")
		deny := strings.EqualFold(attrOr(e, "permissionMode", "Allow"), "Deny")
		setting := "many-to-one mapping " + strconv.Quote(name)
		im.reportPassword(e, iisName, user)
		if strings.EqualFold(attrOr(e, "enabled", "true"), "false") {
			im.add(Item{Kind: NotTranslated, Line: e.line, Site: iisName, Setting: setting, Reason: "disabled"})
			continue
		}
		if catchAll != "" {
			im.add(Item{Kind: NotTranslated, Line: e.line, Site: iisName, Setting: setting,
				Reason: "unreachable: mapping " + strconv.Quote(catchAll) + " above has no rules and matches every certificate"})
			continue
		}
		r := config.ManyToOne{Deny: deny}
		if !deny {
			if err := mapping.CheckUserName(user); err != nil {
				im.add(Item{Kind: NotTranslated, Security: true, Line: e.line, Site: iisName, Setting: setting,
					Reason: "user name: " + err.Error() + "; the mapping is left out, so the certificates it matched map to no one"})
				continue
			}
			r.User = user
		}
		var (
			lossy     []string
			caseSens  bool
			ruleLines []string
			dropped   bool
		)
		if rules := e.child("rules"); rules != nil {
			for _, rn := range rules.children("add") {
				field := attrOr(rn, "certificateField", "")
				sub := attrOr(rn, "certificateSubField", "")
				crit := attrOr(rn, "matchCriteria", "")
				desc := fmt.Sprintf("%s %s=\"%s\"", field, sub, crit)
				ruleLines = append(ruleLines, fmt.Sprintf("line %d: %s", rn.line, desc))
				if !strings.EqualFold(attrOr(rn, "compareCaseSensitive", "true"), "false") {
					caseSens = true
				}
				attr, ok := iisSubField(sub)
				var dn *config.DNMatch
				switch {
				case strings.EqualFold(field, "Subject"):
					dn = &r.Match.Subject
				case strings.EqualFold(field, "Issuer"):
					dn = &r.Match.Issuer
				default:
					ok = false
				}
				if !ok || crit == "" {
					lossy = append(lossy, desc+" (field not supported)")
					continue
				}
				if *dn == nil {
					*dn = config.DNMatch{}
				}
				if prev, dup := (*dn)[attr]; dup {
					lossy = append(lossy, fmt.Sprintf("%s (a second criterion on %s %s besides %q)", desc, field, attr, prev))
					continue
				}
				(*dn)[attr] = escapeIISCriteria(crit)
			}
		}
		if len(lossy) > 0 {
			if deny {
				// Matching on fewer criteria matches more certificates:
				// a deny rule denies more, the stricter side.
				im.add(Item{Kind: Stricter, Security: true, Line: e.line, Site: iisName, Setting: setting,
					Reason: "criteria certgate cannot express were left out of this deny rule, so it denies more certificates: " + strings.Join(lossy, "; ")})
			} else {
				dropped = true
				im.add(Item{Kind: Stricter, Security: true, Line: e.line, Site: iisName, Setting: setting,
					Reason: "criteria certgate cannot express (" + strings.Join(lossy, "; ") + "); the allow rule is left out rather than match more certificates than IIS did",
					Action: "rewrite the rule by hand (one pattern per attribute)"})
			}
		}
		if dropped {
			continue
		}
		if caseSens && !deny {
			im.add(Item{Kind: Differs, Security: true, Line: e.line, Site: iisName, Setting: setting + ` compareCaseSensitive="true"`,
				Reason: "certgate compares names case-insensitively, as Windows does elsewhere; a certificate differing only in case from the criteria now maps too",
				Action: "make sure your CAs do not issue names differing only in case"})
		}
		r.Name = ruleName(name, len(m.ManyToOne), names)
		i := len(m.ManyToOne)
		m.ManyToOne = append(m.ManyToOne, r)
		mode := "Allow"
		if deny {
			mode = "Deny"
		}
		p := "mapping.many_to_one[" + strconv.Itoa(i) + "]"
		s.note(p, "%s:%d: manyToOneMappings \"%s\" permissionMode=%s userName=\"%s\"", im.o.Name, e.line, name, mode, user)
		for _, l := range ruleLines {
			s.note(p, "  rule %s", l)
		}
		if len(ruleLines) == 0 || r.Match.Subject == nil && r.Match.Issuer == nil {
			catchAll = name
		}
	}
}

// ruleName makes a unique, valid rule name from the IIS one.
func ruleName(name string, i int, used map[string]bool) string {
	name = strings.TrimSpace(name)
	if mapping.CheckUserName(name) != nil {
		name = "rule-" + strconv.Itoa(i+1)
	}
	base := name
	for j := 2; used[strings.ToLower(name)]; j++ {
		name = base + "-" + strconv.Itoa(j)
	}
	used[strings.ToLower(name)] = true
	return name
}

// securityElements are the parts of <security> that are translated.
var translatedSecurity = map[string]bool{"access": true, "authentication": true}
var translatedAuth = map[string]bool{
	"iisClientCertificateMappingAuthentication": true, "clientCertificateMappingAuthentication": true, "anonymousAuthentication": true,
}

// reportSecurity reports each security setting of a scope that is not
// translated: authorization rules, IP restrictions, request filtering,
// other authentication methods.
func (im *iisImporter) reportSecurity(sc iisScope, iisName string, authzDone bool) {
	sec := sc.security()
	if sec == nil {
		return
	}
	where := "server-wide"
	if sc.loc != nil {
		where = `<location path="` + attrOr(sc.loc, "path", "") + `">`
	}
	for _, k := range sec.kids {
		if translatedSecurity[k.name] || k.name == "authorization" && authzDone {
			continue
		}
		reason, action := "certgate has no equivalent; the setting is not enforced", "enforce it in the upstream application"
		if k.name == "authorization" {
			reason = "URL authorization rules are not translated"
			action = "express them with mapping and allow_users / allow_groups on the location"
		}
		im.add(Item{Kind: NotTranslated, Security: true, Line: k.line, Site: iisName, Setting: where + " <" + k.name + ">", Reason: reason, Action: action})
	}
	if a := sec.child("authentication"); a != nil {
		for _, k := range a.kids {
			if translatedAuth[k.name] || !isEnabled(k) {
				continue
			}
			im.add(Item{Kind: NotTranslated, Security: true, Line: k.line, Site: iisName, Setting: where + " <" + k.name + ` enabled="true">`,
				Reason: "certgate authenticates by client certificate only", Action: "leave this authentication to the upstream application"})
		}
	}
}

func (im *iisImporter) reportGlobalSecurity() {
	im.reportSecurity(im.global, "", false)
}

func containsFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}
