"""Country names and ISO 3166 alpha-3 codes to alpha-2 codes (what both APIs store), and the one list of the
alpha-2 codes ISO assigns (`ISO_3166_ALPHA2`: the flows' options and the mappings' `*_by_country` tables check
keys against it).

Names are matched case- and accent-insensitively, in English and in the languages of the two products' markets
(Dutch, German, French, Swedish, Norwegian, Danish, Finnish). Users add more through a value map.
"""

from __future__ import annotations

import unicodedata
from typing import Final

# The 249 officially assigned ISO 3166-1 alpha-2 codes (the same list as tzdata's iso3166.tab).
_ALPHA2 = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
    CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR
    GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT
    JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY
    MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM
    PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ
    UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
"""
ISO_3166_ALPHA2: Final = frozenset(_ALPHA2.split())

# ISO2 ISO3 | names (";"-separated)
_DATA = """
AD AND|Andorra
AE ARE|United Arab Emirates;UAE;Verenigde Arabische Emiraten;Vereinigte Arabische Emirate;Förenade Arabemiraten
AR ARG|Argentina;Argentinië;Argentinien;Argentine
AT AUT|Austria;Oostenrijk;Österreich;Autriche;Österrike;Østerrike;Østrig;Itävalta
AU AUS|Australia;Australië;Australien;Australie
BA BIH|Bosnia and Herzegovina;Bosnië en Herzegovina
BE BEL|Belgium;België;Belgie;Belgien;Belgique;Belgia
BG BGR|Bulgaria;Bulgarije;Bulgarien;Bulgarie
BR BRA|Brazil;Brazilië;Brasilien;Brésil;Brasil
CA CAN|Canada;Kanada
CH CHE|Switzerland;Zwitserland;Schweiz;Suisse;Svizzera;Sveits;Sveitsi
CL CHL|Chile
CN CHN|China;Chine;Kina
CY CYP|Cyprus;Zypern;Chypre;Cypern;Kypros
CZ CZE|Czech Republic;Czechia;Tsjechië;Tschechien;Tchéquie;Tjeckien;Tsjekkia;Tjekkiet;Tšekki
DE DEU|Germany;Duitsland;Deutschland;Allemagne;Tyskland;Saksa
DK DNK|Denmark;Denemarken;Dänemark;Danemark;Danmark;Tanska
EE EST|Estonia;Estland;Estonie;Viro
EG EGY|Egypt;Egypte;Ägypten;Egypten
ES ESP|Spain;Spanje;Spanien;Espagne;España;Spania;Espanja
FI FIN|Finland;Finnland;Finlande;Suomi
FO FRO|Faroe Islands;Faeröer;Färöer;Färöarna;Færøyene;Færøerne
FR FRA|France;Frankrijk;Frankreich;Frankrike;Frankrig;Ranska
GB GBR|United Kingdom;UK;Great Britain;England;Verenigd Koninkrijk;Groot-Brittannië;Vereinigtes Königreich
GB GBR|Royaume-Uni;Storbritannien;Storbritannia;Iso-Britannia
GL GRL|Greenland;Groenland;Grönland;Grønland
GR GRC|Greece;Griekenland;Griechenland;Grèce;Grekland;Hellas;Grækenland;Kreikka
HK HKG|Hong Kong
HR HRV|Croatia;Kroatië;Kroatien;Croatie;Kroatia;Kroatia
HU HUN|Hungary;Hongarije;Ungarn;Hongrie;Ungern;Unkari
ID IDN|Indonesia;Indonesië;Indonesien;Indonésie
IE IRL|Ireland;Ierland;Irland;Irlande;Irlanti
IL ISR|Israel;Israël
IN IND|India;Indien;Inde;Intia
IS ISL|Iceland;IJsland;Island;Islande;Islanti
IT ITA|Italy;Italië;Italien;Italie;Italia
JP JPN|Japan;Japon;Japani
KR KOR|South Korea;Korea;Zuid-Korea;Südkorea;Sydkorea;Etelä-Korea
LI LIE|Liechtenstein
LT LTU|Lithuania;Litouwen;Litauen;Lituanie;Liettua
LU LUX|Luxembourg;Luxemburg;Luxemburg
LV LVA|Latvia;Letland;Lettland;Lettonie;Latvia
MA MAR|Morocco;Marokko;Maroc;Marocko
MC MCO|Monaco
MT MLT|Malta;Malte
MX MEX|Mexico;Mexiko;Mexique;México
MY MYS|Malaysia;Maleisië
NL NLD|Netherlands;The Netherlands;Holland;Nederland;Niederlande;Pays-Bas;Nederländerna;Nederlandene;Alankomaat
NO NOR|Norway;Noorwegen;Norwegen;Norvège;Norge;Noreg;Norja
NZ NZL|New Zealand;Nieuw-Zeeland;Neuseeland;Nya Zeeland
PL POL|Poland;Polen;Pologne;Puola
PT PRT|Portugal;Portugali
RO ROU|Romania;Roemenië;Rumänien;Roumanie;Rumänien;Romania
RS SRB|Serbia;Servië;Serbien;Serbie
RU RUS|Russia;Russian Federation;Rusland;Russland;Russie;Ryssland;Venäjä
SA SAU|Saudi Arabia;Saoedi-Arabië;Saudi-Arabien
SE SWE|Sweden;Zweden;Schweden;Suède;Sverige;Ruotsi
SG SGP|Singapore;Singapur
SI SVN|Slovenia;Slovenië;Slowenien;Slovénie;Slovenien
SK SVK|Slovakia;Slowakije;Slowakei;Slovaquie;Slovakien
SM SMR|San Marino
SR SUR|Suriname;Surinam
TH THA|Thailand;Thaïlande
TR TUR|Turkey;Türkiye;Turkije;Türkei;Turquie;Turkiet;Tyrkia;Tyrkiet;Turkki
TW TWN|Taiwan
UA UKR|Ukraine;Oekraïne;Ukraina
US USA|United States;United States of America;USA;America;Verenigde Staten;Vereinigte Staaten;États-Unis;USA
VA VAT|Vatican City;Holy See;Vaticaanstad
VN VNM|Vietnam;Viet Nam
ZA ZAF|South Africa;Zuid-Afrika;Südafrika;Afrique du Sud;Sydafrika
"""


def fold(text: str) -> str:
    """Case- and accent-insensitive key: 'Belgïe ' and 'BELGIE' fold alike."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("-", " ").replace(".", "")


def _build() -> tuple[dict[str, str], dict[str, str]]:
    iso3: dict[str, str] = {}
    names: dict[str, str] = {}
    for line in _DATA.strip().splitlines():
        codes, _, aliases = line.partition("|")
        two, three = codes.split()
        iso3[three] = two
        for alias in aliases.split(";"):
            names[fold(alias)] = two
    return iso3, names


ISO3_TO_ISO2, NAME_TO_ISO2 = _build()
_TWO_LETTER_ALIASES = {"UK": "GB", "EL": "GR"}  # EL: Greece in EU VAT numbers


def country_iso2(value: str) -> str | None:
    """The ISO alpha-2 code for a code or name, or None when unknown. Two letters pass through upper-cased."""
    text = value.strip()
    if len(text) == 2 and text.isalpha() and text.isascii():
        upper = text.upper()
        return _TWO_LETTER_ALIASES.get(upper, upper)
    if len(text) == 3 and text.isalpha() and text.upper() in ISO3_TO_ISO2:
        return ISO3_TO_ISO2[text.upper()]
    return NAME_TO_ISO2.get(fold(text))
