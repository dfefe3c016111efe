// Package reqpath is the one canonicalizer of request paths: it decides
// whether the raw path of a request (as sent, percent-encoded) reads the
// same to certgate and to every kind of upstream, before location rules
// are matched on it.
//
// Location rules are matched on the decoded path. A path that a Tomcat,
// IIS, nginx or C backend resolves to another resource than the one
// certgate matched would take that resource's certificate policy from a
// location it does not belong to (/public/..;/secret is /secret to
// Tomcat, /secret. is /secret to Windows). Check refuses every such form,
// naming the Rule it breaks; a site may opt out of individual rules by
// name (paths.allow), never wholesale. Check does not allocate.
package reqpath
