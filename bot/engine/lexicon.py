"""Frequent words that typo correction must leave alone, and English contractions to expand.

Typo tolerance maps an unknown word to the nearest word a persona knows. A very common word that no rule mentions
("please", «пожалуйста») must not be "corrected" into a concept word that merely looks like it, so these words count
as known. The lists hold everyday interview vocabulary; they need not be complete, only cover frequent words.
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    """Return the whitespace-separated words of ``text``."""
    return frozenset(text.split())

COMMON_EN = _words(
    """
a about above after again against all almost alone along already also although always am among an and another
any anybody anyone anything anyway anywhere are around as ask asked asking at away back bad be because become
been before began behind being believe below best better between big both bring brought but by call called
came can cannot care case certain change child children come comes coming could couldn day days did didn
different do does doesn doing done don down during each early easy either else end enough even ever every
everybody everyone everything exactly except family far feel felt few find fine first for found free friend
friends from full gave get gets getting give given go goes going gone good got great had happen happened
happens hard has have having he hear heard help her here hers herself him himself his home hope how however i
if important in inside instead into is it its itself just keep kind knew know known last later least leave
left less let lets life like likely little live lived long look looked looking lot lots made make makes making
man many may maybe me mean means meet men might mind mine minute moment more most mostly much must my myself
name near need needed needs never new next nice night no nobody none nor not nothing now of off often oh ok
okay old on once one only onto open or other others our ours ourselves out outside over own part people
perhaps person place please point possible pretty probably put question questions quite rather read ready
really reason right said same saw say saying says see seem seemed seen she should show side since so some
somebody someone something sometimes somewhere soon sorry start started still stop such sure take taken talk
talked talking tell telling than thank thanks that the their theirs them themselves then there these they
thing things think this those though thought through time times to today together told too took toward tried
true try trying turn two under understand until up upon us use used very wait want wanted wants was way we
week well went were what whatever when where whether which while who whole whom whose why will with within
without woman women word words would yeah year years yes yet you your yours yourself yourselves
"""
)

COMMON_RU = _words(
    """
а без более больше будет будете будто бы был была были было быть в вам вами вас ваш ваша ваше ваши вдруг ведь
весь вот впрочем все всегда всего всех всю вы где да даже два для до другой его ее ей ему если есть еще же за
зачем здесь и из или им ими их к как какая какой когда конечно который кто куда ли лучше между меня мне много
может можно мой моя мы на над надо наконец нас не него нее нельзя нет ни нибудь никогда ним них ничего но ну о
об один он она они оно опять от очень перед по под после потом потому почему почти при про раз разве с сам
свою себе себя сегодня сейчас сказал сказала сказать так также такой там тебе тебя тем теперь то тогда того
тоже только том тот три тут ты у уж уже хорошо хоть чего чем через что чтоб чтобы чуть эти этого этой этом
этот эту я пожалуйста спасибо здравствуйте привет извините простите понятно ладно хорошо скажите расскажите
скажи расскажи можете могу могли могла знаете знаю знала знал думаю думаете хотите хочу хотела хотел понимаю
понимаете давайте давай сколько поэтому просто правда конечно например вообще действительно наверное может
быть пока сразу снова вместе очень человек люди день дни время год года лет раньше сначала потом дальше
немного много мало всё всем всеми каждый каждая каждое другие другая другое своей своих свой свои сказали
говорит говорят говорили говорил говорила
"""
)

# Contractions as typed, with or without the apostrophe: each becomes its full words before stemming, so a
# term "can't promise" keeps its negation and "I'm a" does not match "I have a".
CONTRACTIONS = {
    "can't": ("can", "not"),
    "cant": ("can", "not"),
    "cannot": ("can", "not"),
    "won't": ("will", "not"),
    "wont": ("will", "not"),
    "shan't": ("shall", "not"),
    "ain't": ("am", "not"),
    "i'm": ("i", "am"),
    "im": ("i", "am"),
    "let's": ("let", "us"),
    "lets": ("let", "us"),
    "dont": ("do", "not"),
    "didnt": ("did", "not"),
    "doesnt": ("does", "not"),
    "isnt": ("is", "not"),
    "wasnt": ("was", "not"),
    "werent": ("were", "not"),
    "arent": ("are", "not"),
    "havent": ("have", "not"),
    "hasnt": ("has", "not"),
    "hadnt": ("had", "not"),
    "wouldnt": ("would", "not"),
    "couldnt": ("could", "not"),
    "shouldnt": ("should", "not"),
    "youre": ("you", "are"),
    "theyre": ("they", "are"),
    "ive": ("i", "have"),
    "thats": ("that", "is"),
    "whats": ("what", "is"),
}

CONTRACTION_SUFFIXES = {
    "n't": ("not",),
    "'re": ("are",),
    "'ve": ("have",),
    "'ll": ("will",),
    "'d": ("would",),
    "'m": ("am",),
}

# "'s" means "is" after these words; elsewhere it is a possessive ("the boss's car") and is dropped.
IS_BEFORE_S = _words("it that what he she there who where here how when why this")
