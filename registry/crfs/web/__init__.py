"""Server-rendered pages for case report forms (views, ModelForm factories, page-shaped reads)."""
