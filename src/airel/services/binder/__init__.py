"""The evidence binder (issue 14): control objectives, documents from records, standard exports.
Empty until that issue lands.
"""
