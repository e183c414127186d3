package check

import "strings"

// countries is every officially assigned ISO 3166-1 alpha-2 code.
const countries = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ " +
	"BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
	"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ " +
	"DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR " +
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY " +
	"HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP " +
	"KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY " +
	"MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ " +
	"NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY " +
	"QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ " +
	"TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ " +
	"VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW"

// Country checks an upper-case ISO 3166-1 alpha-2 country code.
func Country(code string) string {
	if len(code) != 2 || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z' {
		return "must be an ISO 3166-1 alpha-2 code such as FR or US"
	}
	if !strings.Contains(countries, code) {
		return "is not an ISO 3166-1 country code"
	}
	return ""
}

// USTIN checks a United States taxpayer identification number: an SSN or
// ITIN written 123-45-6789, or an EIN written 12-3456789, with or without
// the hyphens. Numbers that are never issued (all-zero groups, SSN area
// 666) are refused.
func USTIN(tin string) string {
	const reason = "must be a US TIN: 9 digits, as 123-45-6789 (SSN or ITIN) or 12-3456789 (EIN)"
	digits := strings.ReplaceAll(tin, "-", "")
	if len(digits) != 9 {
		return reason
	}
	for i := 0; i < 9; i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return reason
		}
	}
	switch {
	case tin == digits:
	case len(tin) == 11 && tin[3] == '-' && tin[6] == '-': // SSN or ITIN
		if digits[:3] == "000" || digits[:3] == "666" || digits[3:5] == "00" || digits[5:] == "0000" {
			return "is not a TIN that is ever issued"
		}
	case len(tin) == 10 && tin[2] == '-': // EIN
		if digits[:2] == "00" {
			return "is not a TIN that is ever issued"
		}
	default:
		return reason
	}
	if digits == "000000000" {
		return "is not a TIN that is ever issued"
	}
	return ""
}

// Phone checks an E.164 number: + then 8 to 15 digits, spaces allowed
// between digits.
func Phone(p string) string {
	s := strings.ReplaceAll(p, " ", "")
	if len(s) < 9 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return "must be an international number such as +33 6 12 34 56 78"
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "must be an international number such as +33 6 12 34 56 78"
		}
	}
	return ""
}
