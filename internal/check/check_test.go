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

func TestUSTINAndCountry(t *testing.T) {
	for _, ok := range []string{"123-45-6789", "912-70-1234", "12-3456789", "123456789"} {
		if r := USTIN(ok); r != "" {
			t.Errorf("USTIN(%q) = %q", ok, r)
		}
	}
	for _, bad := range []string{"", "12345678", "1234567890", "123-456-789", "000-12-3456", "666-12-3456", "123-00-4567",
		"123-45-0000", "00-1234567", "000000000", "12a-45-6789", "123 45 6789"} {
		if USTIN(bad) == "" {
			t.Errorf("USTIN(%q) accepted", bad)
		}
	}
	for _, ok := range []string{"FR", "US", "GB", "AX", "ZW"} {
		if Country(ok) != "" {
			t.Errorf("Country(%q) refused", ok)
		}
	}
	for _, bad := range []string{"", "fr", "XX", "UK", "USA", "F", "E ", " E"} {
		if Country(bad) == "" {
			t.Errorf("Country(%q) accepted", bad)
		}
	}
	for _, ok := range []string{"+33612345678", "+1 415 555 2671"} {
		if Phone(ok) != "" {
			t.Errorf("Phone(%q) refused", ok)
		}
	}
	for _, bad := range []string{"0612345678", "+0612345678", "+33-6-12", "+1234567", "+1234567890123456", "++33612345678"} {
		if Phone(bad) == "" {
			t.Errorf("Phone(%q) accepted", bad)
		}
	}
}

// FuzzUSTIN: accepted TINs have exactly 9 digits and hyphens only where an
// SSN or EIN has them.
func FuzzUSTIN(f *testing.F) {
	for _, s := range []string{"123-45-6789", "12-3456789", "123456789", "000-00-0000", "1-2-3", "-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if USTIN(s) != "" {
			return
		}
		d := strings.ReplaceAll(s, "-", "")
		if len(d) != 9 || strings.Trim(d, "0123456789") != "" || d == "000000000" {
			t.Fatalf("accepted %q", s)
		}
		if s != d && !(len(s) == 11 && s[3] == '-' && s[6] == '-') && !(len(s) == 10 && s[2] == '-') {
			t.Fatalf("accepted hyphens in %q", s)
		}
	})
}

// FuzzCountry: accepted codes are two upper-case letters from the list.
func FuzzCountry(f *testing.F) {
	for _, s := range []string{"FR", "XX", "D E", "fr", "DE "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if Country(s) == "" && (len(s) != 2 || !strings.Contains(countries, s) || strings.ContainsAny(s, " ")) {
			t.Fatalf("accepted %q", s)
		}
	})
}

// FuzzPhone: accepted numbers are + and 8 to 15 digits, spaces aside.
func FuzzPhone(f *testing.F) {
	for _, s := range []string{"+33612345678", "+1 415 555 2671", "+", "0033"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if Phone(s) != "" {
			return
		}
		d := strings.ReplaceAll(s, " ", "")
		if d[0] != '+' || len(d) < 9 || len(d) > 16 || strings.Trim(d[1:], "0123456789") != "" {
			t.Fatalf("accepted %q", s)
		}
	})
}
