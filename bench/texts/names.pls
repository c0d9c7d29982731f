<?xml version="1.0" encoding="UTF-8"?>
<!-- US pronunciations of the names in names.txt, in IPA as espeak-ng writes it. -->
<lexicon version="1.0" xmlns="http://www.w3.org/2005/01/pronunciation-lexicon"
         alphabet="ipa" xml:lang="en-US">
  <lexeme><grapheme>Caleb</grapheme><phoneme>ˈkeɪləb</phoneme></lexeme>
  <lexeme><grapheme>Nathan</grapheme><phoneme>ˈneɪθən</phoneme></lexeme>
  <lexeme><grapheme>Domhnall</grapheme><phoneme>ˈdoʊnəl</phoneme></lexeme>
  <lexeme><grapheme>Gleeson</grapheme><phoneme>ˈɡliːsən</phoneme></lexeme>
  <lexeme><grapheme>Vikander</grapheme><phoneme>vɪˈkændɚ</phoneme></lexeme>
  <lexeme><grapheme>Ava</grapheme><phoneme>ˈeɪvə</phoneme></lexeme>
  <lexeme><grapheme>Sonoya</grapheme><phoneme>səˈnɔɪə</phoneme></lexeme>
  <lexeme><grapheme>Mizuno</grapheme><phoneme>mɪˈzuːnoʊ</phoneme></lexeme>
  <lexeme><grapheme>Kyoko</grapheme><phoneme>kiˈoʊkoʊ</phoneme></lexeme>
  <lexeme><grapheme>Saoirse</grapheme><phoneme>ˈsɜːʃə</phoneme></lexeme>
  <lexeme><grapheme>Ronan</grapheme><phoneme>ˈroʊnən</phoneme></lexeme>
  <lexeme><grapheme>Joaquin</grapheme><phoneme>wɑːˈkiːn</phoneme></lexeme>
  <lexeme><grapheme>Chiwetel</grapheme><phoneme>ˈtʃuːwɪtɛl</phoneme></lexeme>
  <lexeme><grapheme>Ejiofor</grapheme><phoneme>ˌɛdʒiˈoʊfɔːɹ</phoneme></lexeme>
  <lexeme><grapheme>Villeneuve</grapheme><phoneme>viːlˈnʌv</phoneme></lexeme>
  <lexeme><grapheme>Timothée</grapheme><phoneme>ˈtɪməθi</phoneme></lexeme>
  <lexeme><grapheme>Chalamet</grapheme><phoneme>ˈʃæləmeɪ</phoneme></lexeme>
  <lexeme><grapheme>Gerwig</grapheme><phoneme>ˈɡɜːwɪɡ</phoneme></lexeme>
  <lexeme><grapheme>Lupita</grapheme><phoneme>luːˈpiːtə</phoneme></lexeme>
  <lexeme><grapheme>Nyong'o</grapheme><phoneme>ˈnjɔːŋɡoʊ</phoneme></lexeme>
  <lexeme><grapheme>Garland</grapheme><phoneme>ˈɡɑːɹlənd</phoneme></lexeme>
</lexicon>
