package verify

import (
	"crypto/x509"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Certificate policy processing (RFC 5280 6.1.2-6.1.5 as updated by RFC
// 9618, which replaces the exponential valid_policy_tree by a graph). It
// follows crypto/x509's policiesValid, with two differences that let it run
// on the path certgate built: self-issued certificates are recognised by
// RFC 5280 7.1 name matching, and all four RFC 5280 6.1.1 policy inputs
// are honoured (crypto/x509 only exposes the initial policy set).

// PolicyOptions are the policy inputs of RFC 5280 6.1.1 (c, e, f, g). The
// zero value is what a TLS server uses: any policy is acceptable, none is
// required, mapping and anyPolicy are allowed.
type PolicyOptions struct {
	// InitialPolicies is the user-initial-policy-set. Empty means
	// {anyPolicy}.
	InitialPolicies []x509.OID
	// RequireExplicit is initial-explicit-policy: the path must be valid
	// for at least one policy of InitialPolicies.
	RequireExplicit bool
	// InhibitMapping is initial-policy-mapping-inhibit.
	InhibitMapping bool
	// InhibitAnyPolicy is initial-any-policy-inhibit.
	InhibitAnyPolicy bool
}

func (p PolicyOptions) isDefault() bool {
	return len(p.InitialPolicies) == 0 && !p.RequireExplicit && !p.InhibitMapping && !p.InhibitAnyPolicy
}

// ParsePolicyOID reads a certificate policy for the policy inputs: a
// dotted OID ("2.16.840.1.101.3.2.1.48.1") or "anyPolicy". The
// command line (--policy) and the config (client_auth.policies) both use
// it.
func ParsePolicyOID(s string) (x509.OID, error) {
	if s == "anyPolicy" {
		return AnyPolicy, nil
	}
	oid, err := x509.ParseOID(s)
	if err != nil {
		return x509.OID{}, fmt.Errorf("policy %q: want a dotted OID such as 2.5.29.32.0, or anyPolicy", s)
	}
	return oid, nil
}

// AnyPolicy is the anyPolicy OID 2.5.29.32.0.
var AnyPolicy = mustOID(2, 5, 29, 32, 0)

func mustOID(arcs ...uint64) x509.OID {
	o, err := x509.OIDFromInts(arcs)
	if err != nil {
		panic(err) // constant input
	}
	return o
}

func hasPolicyExtensions(c *x509.Certificate) bool {
	return len(c.Policies) > 0 || len(c.PolicyIdentifiers) > 0 || len(c.PolicyMappings) > 0 ||
		c.RequireExplicitPolicy > 0 || c.RequireExplicitPolicyZero || c.InhibitPolicyMapping > 0 ||
		c.InhibitPolicyMappingZero || c.InhibitAnyPolicy > 0 || c.InhibitAnyPolicyZero
}

// policyFailure says where and why policy processing rejected a path.
type policyFailure struct {
	cert   int // path index
	reason string
}

type policyNode struct {
	valid    x509.OID
	expected []x509.OID
	parents  map[*policyNode]bool
	children map[*policyNode]bool
}

func newPolicyNode(valid x509.OID, parents []*policyNode) *policyNode {
	n := &policyNode{valid: valid, expected: []x509.OID{valid}, parents: map[*policyNode]bool{}, children: map[*policyNode]bool{}}
	for _, p := range parents {
		p.children[n] = true
		n.parents[p] = true
	}
	return n
}

// policyGraph is the RFC 9618 valid_policy_graph: one stratum per
// certificate, nodes keyed by the dotted policy OID.
type policyGraph struct {
	strata      []map[string]*policyNode
	parentIndex map[string][]*policyNode // expected policy -> nodes of the previous stratum
	depth       int
}

func newPolicyGraph() *policyGraph {
	root := newPolicyNode(AnyPolicy, nil)
	return &policyGraph{strata: []map[string]*policyNode{{AnyPolicy.String(): root}}}
}

func (g *policyGraph) incrDepth() {
	g.parentIndex = map[string][]*policyNode{}
	for _, n := range g.strata[g.depth] {
		for _, e := range n.expected {
			g.parentIndex[e.String()] = append(g.parentIndex[e.String()], n)
		}
	}
	g.depth++
	g.strata = append(g.strata, map[string]*policyNode{})
}

func (g *policyGraph) insert(n *policyNode) { g.strata[g.depth][n.valid.String()] = n }

func (g *policyGraph) parentAny() *policyNode {
	if g.depth == 0 {
		return nil
	}
	return g.strata[g.depth-1][AnyPolicy.String()]
}

func (g *policyGraph) leaf(p x509.OID) *policyNode { return g.strata[g.depth][p.String()] }

func (g *policyGraph) deleteLeaf(p x509.OID) {
	n := g.strata[g.depth][p.String()]
	if n == nil {
		return
	}
	for par := range n.parents {
		delete(par.children, n)
	}
	delete(g.strata[g.depth], p.String())
}

// prune removes nodes without children below the current stratum
// (RFC 9618 6.1.3(d)(3)), bottom up so that removals cascade.
func (g *policyGraph) prune() {
	for i := g.depth - 1; i > 0; i-- {
		for k, n := range g.strata[i] {
			if len(n.children) == 0 {
				for par := range n.parents {
					delete(par.children, n)
				}
				delete(g.strata[i], k)
			}
		}
	}
}

// validPolicyNodes is RFC 9618 6.1.5(g)(2): the non-anyPolicy nodes whose
// parent is an anyPolicy node.
func (g *policyGraph) validPolicyNodes() []*policyNode {
	var out []*policyNode
	for i := g.depth; i >= 0; i-- {
		for _, n := range g.strata[i] {
			if n.valid.Equal(AnyPolicy) || len(n.parents) != 1 {
				continue
			}
			for par := range n.parents {
				if par.valid.Equal(AnyPolicy) {
					out = append(out, n)
				}
			}
		}
	}
	return out
}

// processPolicies runs policy processing on path (leaf first, anchor
// last; the anchor's own extensions are not processed, RFC 5280 6.1). It
// returns the user-constrained policy set (nil meaning empty; a set
// holding anyPolicy means every policy) or why the path fails.
func processPolicies(path []*x509.Certificate, in PolicyOptions) ([]x509.OID, *policyFailure) {
	n := len(path) - 1 // certificates to process; path[n] is the anchor
	if n == 0 {
		// The anchor alone: nothing to process.
		return []x509.OID{AnyPolicy}, nil
	}
	g := newPolicyGraph()
	explicit, mapping, inhibitAny := n+1, n+1, n+1
	if in.RequireExplicit {
		explicit = 0
	}
	if in.InhibitMapping {
		mapping = 0
	}
	if in.InhibitAnyPolicy {
		inhibitAny = 0
	}

	for i := n - 1; i >= 0; i-- {
		c := path[i]
		self := selfIssued(c)
		// 6.1.3(e): a certificate without policies ends the graph.
		if len(c.Policies) == 0 {
			g = nil
		}
		// 6.1.3(f)
		if explicit == 0 && g == nil {
			return nil, &policyFailure{cert: i, reason: fmt.Sprintf("%s has no certificate policy the path is valid for, and an explicit policy is required (%s)",
				describe(c), explicitWhy(path, i, in))}
		}
		if g != nil {
			g.incrDepth()
			has := map[string]bool{}
			// 6.1.3(d)(1)
			for _, p := range c.Policies {
				has[p.String()] = true
				if p.Equal(AnyPolicy) {
					continue
				}
				parents := g.parentIndex[p.String()]
				if len(parents) == 0 {
					if a := g.parentAny(); a != nil {
						parents = []*policyNode{a}
					}
				}
				if len(parents) > 0 {
					g.insert(newPolicyNode(p, parents))
				}
			}
			// 6.1.3(d)(2): anyPolicy in the certificate stands for every
			// expected policy of the previous stratum not yet matched.
			if has[AnyPolicy.String()] && (inhibitAny > 0 || (i > 0 && self)) {
				missing := map[string][]*policyNode{}
				oids := map[string]x509.OID{}
				for _, par := range g.strata[g.depth-1] {
					for _, e := range par.expected {
						if g.leaf(e) == nil {
							missing[e.String()] = append(missing[e.String()], par)
							oids[e.String()] = e
						}
					}
				}
				for k, parents := range missing {
					g.insert(newPolicyNode(oids[k], parents))
				}
			}
			// 6.1.3(d)(3)
			g.prune()

			// 6.1.4(a,b): policy mappings of intermediates.
			if i != 0 && len(c.PolicyMappings) > 0 {
				mappings := map[string][]x509.OID{}
				issuers := map[string]x509.OID{}
				var order []string
				for _, m := range c.PolicyMappings {
					if m.IssuerDomainPolicy.Equal(AnyPolicy) || m.SubjectDomainPolicy.Equal(AnyPolicy) {
						return nil, &policyFailure{cert: i, reason: fmt.Sprintf("%s maps anyPolicy, which RFC 5280 6.1.4(a) forbids", describe(c))}
					}
					if mapping > 0 {
						k := m.IssuerDomainPolicy.String()
						if _, ok := mappings[k]; !ok {
							order = append(order, k)
						}
						mappings[k] = append(mappings[k], m.SubjectDomainPolicy)
						issuers[k] = m.IssuerDomainPolicy
					} else {
						g.deleteLeaf(m.IssuerDomainPolicy)
					}
				}
				g.prune()
				for _, k := range order {
					if leaf := g.leaf(issuers[k]); leaf != nil {
						leaf.expected = mappings[k]
					} else if a := g.leaf(AnyPolicy); a != nil {
						node := newPolicyNode(issuers[k], []*policyNode{a})
						node.expected = mappings[k]
						g.insert(node)
					}
				}
			}
		}

		if i != 0 {
			// 6.1.4(h)
			if !self {
				if explicit > 0 {
					explicit--
				}
				if mapping > 0 {
					mapping--
				}
				if inhibitAny > 0 {
					inhibitAny--
				}
			}
			// 6.1.4(i,j)
			if (c.RequireExplicitPolicy > 0 || c.RequireExplicitPolicyZero) && c.RequireExplicitPolicy < explicit {
				explicit = c.RequireExplicitPolicy
			}
			if (c.InhibitPolicyMapping > 0 || c.InhibitPolicyMappingZero) && c.InhibitPolicyMapping < mapping {
				mapping = c.InhibitPolicyMapping
			}
			if (c.InhibitAnyPolicy > 0 || c.InhibitAnyPolicyZero) && c.InhibitAnyPolicy < inhibitAny {
				inhibitAny = c.InhibitAnyPolicy
			}
		}
	}

	// 6.1.5(a,b)
	if explicit > 0 {
		explicit--
	}
	if path[0].RequireExplicitPolicyZero {
		explicit = 0
	}

	// 6.1.5(g)
	var valid []*policyNode
	if g != nil {
		valid = g.validPolicyNodes()
		if a := g.leaf(AnyPolicy); a != nil {
			valid = append(valid, a)
		}
	}
	authority := map[string]x509.OID{}
	for _, node := range valid {
		authority[node.valid.String()] = node.valid
	}
	user := authority
	initial := in.InitialPolicies
	if len(initial) > 0 && !slices.ContainsFunc(initial, func(o x509.OID) bool { return o.Equal(AnyPolicy) }) {
		user = map[string]x509.OID{}
		for _, p := range initial {
			if _, ok := authority[p.String()]; ok {
				user[p.String()] = p
			}
		}
		if _, ok := authority[AnyPolicy.String()]; ok {
			for _, p := range initial {
				user[p.String()] = p
			}
		}
	}
	set := make([]x509.OID, 0, len(user))
	for _, k := range slices.Sorted(maps.Keys(user)) {
		set = append(set, user[k])
	}
	if explicit == 0 && len(set) == 0 {
		return nil, &policyFailure{cert: 0, reason: fmt.Sprintf("the path is valid for no acceptable certificate policy and an explicit policy is required (%s); the leaf asserts %s",
			explicitWhy(path, 0, in), policyList(path[0].Policies))}
	}
	if len(set) == 0 {
		return nil, nil
	}
	return set, nil
}

// explicitWhy names what required an explicit policy: the verifier's
// input or the policyConstraints of a CA at or above index i.
func explicitWhy(path []*x509.Certificate, i int, in PolicyOptions) string {
	for j := len(path) - 2; j >= i; j-- {
		c := path[j]
		if c.RequireExplicitPolicy > 0 || c.RequireExplicitPolicyZero {
			return fmt.Sprintf("requireExplicitPolicy %d in %s", c.RequireExplicitPolicy, describe(c))
		}
	}
	if in.RequireExplicit {
		return "the verifier requires an explicit policy"
	}
	return "policy constraints"
}

func policyList(ps []x509.OID) string {
	if len(ps) == 0 {
		return "no policy"
	}
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}
