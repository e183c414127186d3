// Package check holds the input validators shared by the domain packages.
// Each returns "" when the value is acceptable, or a reason that can be shown
// to a user and never repeats the value itself.
package check

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Email checks the address shape: one @, a local part of printable ASCII
// without spaces, a domain of dot-separated labels with a top-level label.
// It does not try to accept every RFC 5322 form (quoted local parts, IP
// literals), which no platform sends mail to in practice.
func Email(s string) string {
	if s == "" {
		return "is required"
	}
	if len(s) > 254 {
		return "must be at most 254 characters"
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return "must look like name@example.com"
	}
	local, domain := s[:at], s[at+1:]
	if len(local) > 64 {
		return "local part must be at most 64 characters"
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),:;<>@[\]`, c) >= 0 {
			return "must look like name@example.com"
		}
	}
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return "must look like name@example.com"
	}
	if reason := Domain(domain); reason != "" {
		return reason
	}
	return ""
}

// Domain checks a DNS host name with at least two labels.
func Domain(d string) string {
	labels := strings.Split(d, ".")
	if len(labels) < 2 || len(d) > 253 {
		return "domain must look like example.com"
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "domain must look like example.com"
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return "domain must look like example.com"
			}
		}
	}
	tld := labels[len(labels)-1]
	for i := 0; i < len(tld); i++ {
		if tld[i] >= '0' && tld[i] <= '9' {
			return "domain must end in a name, not a number"
		}
	}
	return ""
}

// Username checks a login name: 3 to 64 characters of letters, digits and
// . _ - @ + (so that an email address is a valid username).
func Username(s string) string {
	n := utf8.RuneCountInString(s)
	if n < 3 || n > 64 {
		return "must be 3 to 64 characters"
	}
	for _, r := range s {
		if !(r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-@+", r))) {
			return "may contain only letters, digits and . _ - @ +"
		}
	}
	return ""
}

// Name checks a person's or organisation's name: required, at most max
// characters, valid UTF-8 with no control characters.
func Name(s string, max int) string {
	if strings.TrimSpace(s) == "" {
		return "is required"
	}
	return Text(s, max)
}

// Text checks optional free text: at most max characters, valid UTF-8, no
// control characters.
func Text(s string, max int) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	if utf8.RuneCountInString(s) > max {
		return "is too long"
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "must not contain control characters"
		}
	}
	return ""
}

// Fold lower-cases s for case-insensitive comparison of emails and usernames.
func Fold(s string) string { return strings.ToLower(s) }
