// Package directory finds the Active Directory (or any LDAP) account of a
// verified client certificate, the way a Windows domain controller maps a
// certificate since KB5014754: strong mappings first (the certificate's
// SID extension matching objectSid; altSecurityIdentities values of the
// kinds X509:<I>issuer<SR>serial, X509:<SKI>, X509:<SHA1-PUKEY>), weak
// ones (X509:<I>..<S>.., X509:<S>.., X509:<RFC822>.., and UPN to
// userPrincipalName) only when allowed. It reads the account's state
// (disabled, locked out, expired) and its groups, nested ones included.
//
// It is an engine in its own right: it takes Options (the site build
// converts a certgate.yaml mapping.directory block), keeps a small
// connection pool and a per-certificate result cache, and never reads
// config. The mapping engine calls it through mapping.Directory, so the
// 403.12 decision stays mapping's.
//
// A directory that cannot be reached, or does not answer within the
// configured timeout, is an error of its own (ErrUnavailable): the caller
// fails closed with SEC_E_NO_AUTHENTICATING_AUTHORITY, never treating the
// outage as "no account".
package directory
