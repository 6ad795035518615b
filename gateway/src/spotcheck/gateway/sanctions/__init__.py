"""What follows a failing case: the hazard list, consumer warnings and penalty decisions.

The hazard list (名单, 四(二)), consumer warnings (消费警示, 一 and 六(二)) and administrative penalty decisions for
the enterprise credit record (行政处罚, 四(三)).
"""
