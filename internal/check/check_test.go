package check

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEmail(t *testing.T) {
	for _, ok := range []string{"a@b.co", "first.last+tag@sub.example.com", "x_y-z@example-domain.org"} {
		if r := Email(ok); r != "" {
			t.Errorf("Email(%q) = %q, want ok", ok, r)
		}
	}
	for _, bad := range []string{"", "plain", "@example.com", "a@", "a@b", "a b@example.com", "a@exa mple.com",
		"a..b@example.com", ".a@example.com", "a@-example.com", "a@example.123", "a@@example.com", "a@example..com",
		"<a@example.com>", strings.Repeat("a", 65) + "@example.com", "a@" + strings.Repeat("b", 250) + ".com", "a\x00@example.com"} {
		if Email(bad) == "" {
			t.Errorf("Email(%q) accepted", bad)
		}
	}
}

func TestUsername(t *testing.T) {
	for _, ok := range []string{"bob", "alice.smith", "ops-1", "a@b.co", "x_y+z"} {
		if r := Username(ok); r != "" {
			t.Errorf("Username(%q) = %q", ok, r)
		}
	}
	for _, bad := range []string{"", "ab", "with space", "tab\t", "ünï", strings.Repeat("a", 65), "semi;colon", "quote'"} {
		if Username(bad) == "" {
			t.Errorf("Username(%q) accepted", bad)
		}
	}
}

func TestNameAndText(t *testing.T) {
	if Name("  ", 10) == "" || Name("", 10) == "" {
		t.Error("blank names accepted")
	}
	if Name("Zoë O'Brien-Łukasz", 50) != "" {
		t.Error("a real name refused")
	}
	if Text("line\nbreak", 50) == "" || Text("\xff", 5) == "" || Text("toolong", 3) == "" {
		t.Error("bad text accepted")
	}
}

// FuzzEmail: never panics; whatever it accepts has one local part and a
// dotted domain, no space or control character, and at most 254 bytes.
func FuzzEmail(f *testing.F) {
	for _, s := range []string{"a@b.co", "", "@", "a@b", "x@y.z1", "a.b@c-d.ef", "\x00@a.bc", "é@a.bc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if Email(s) != "" {
			return
		}
		at := strings.LastIndexByte(s, '@')
		if at <= 0 || len(s) > 254 || !strings.Contains(s[at+1:], ".") || strings.ContainsAny(s, " \t\r\n\x00<>") || !utf8.ValidString(s) {
			t.Fatalf("accepted %q", s)
		}
		if strings.Count(s[at+1:], "@") != 0 || strings.Contains(s[:at], "@") {
			t.Fatalf("accepted %q with two @", s)
		}
	})
}

// FuzzUsername: never panics; accepted names are 3 to 64 ASCII characters
// from the allowed set.
func FuzzUsername(f *testing.F) {
	for _, s := range []string{"bob", "ab", "a b", "ops@x.io", "\xff\xfe", strings.Repeat("z", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if Username(s) != "" {
			return
		}
		if len(s) < 3 || len(s) > 64 {
			t.Fatalf("accepted %q of length %d", s, len(s))
		}
		for i := 0; i < len(s); i++ {
			c := s[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._-@+", c) >= 0) {
				t.Fatalf("accepted %q with %q", s, c)
			}
		}
	})
}
