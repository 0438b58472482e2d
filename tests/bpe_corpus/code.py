import json, sys
from collections import Counter

def top_words(path: str, k: int = 10) -> list[tuple[str, int]]:
    """Return the k most common words in a file."""
    with open(path, encoding="utf-8") as f:
        words = [w.strip(".,;:!?\"'()").lower() for w in f.read().split()]
    return Counter(w for w in words if w).most_common(k)

if __name__ == "__main__":
    for word, n in top_words(sys.argv[1]):
        print(f"{word:>20} {n:6d}")
    print(json.dumps({"ok": True, "items": [1, 2.5, None, "x"]}, indent=2))
        # odd indentation, then a lambda: f = lambda x, y=3: x**y // 2
