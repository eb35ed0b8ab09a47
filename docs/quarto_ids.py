"The ids pandoc (so quarto) gives headings, used as the MyST heading anchors of the offline site (see docs/conf.py)"
import re

def pandoc_slug(title:str)->str:
    "Pandoc's auto identifier of a heading: `get_dataset` -> `get_dataset`, `Store.add` -> `store.add`, `The data` -> `the-data`"
    t = re.sub(r'[^\w\s.-]', '', title.lower())
    t = re.sub(r'\s+', '-', t.strip())
    return re.sub(r'^[\W\d_]+', '', t)  # an id starts with a letter
